// Loading a resource for a page: data, error and loading state, reload, optional polling (the
// live screens refresh without flashing a loader over data already shown).

import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  /** True while the first answer (or the one after a change of inputs) is awaited. */
  loading: boolean;
  reload: () => void;
}

export function useApi<T>(
  load: ((signal: AbortSignal) => Promise<T>) | null,
  deps: unknown[],
  opts: { pollMs?: number } = {},
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState<boolean>(load !== null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const key = JSON.stringify(deps);
  const lastKey = useRef<string | null>(null);

  useEffect(() => {
    const fn = loadRef.current;
    if (!fn) {
      setLoading(false);
      return;
    }
    const changed = lastKey.current !== key;
    lastKey.current = key;
    if (changed) {
      setData(undefined);
      setLoading(true);
    }
    const ctl = new AbortController();
    fn(ctl.signal)
      .then((d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(e instanceof ApiError ? e : new ApiError(0, 'unexpected', e instanceof Error ? e.message : String(e)));
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
    // `key` stands for the caller's deps; `tick` re-runs it on reload and polls.
  }, [key, tick]);

  useEffect(() => {
    if (!opts.pollMs || !load) return;
    const t = setInterval(() => {
      // A hidden tab does not poll; it catches up when shown again.
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') setTick((n) => n + 1);
    }, opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs, key, load === null]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
