// The page number of a list, kept in the address (`?page=`) so back and reload keep it.

import { useDebouncedValue } from '@mantine/hooks';
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';

export function useUrlParam(name: string, fallback = ''): [string, (v: string) => void] {
  const [params, setParams] = useSearchParams();
  const value = params.get(name) ?? fallback;
  const set = useCallback(
    (v: string) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (v === '' || v === fallback) next.delete(name);
          else next.set(name, v);
          // A new filter starts at the first page.
          if (name !== 'page') next.delete('page');
          return next;
        },
        { replace: name !== 'page' },
      );
    },
    [name, fallback, setParams],
  );
  return [value, set];
}

export function usePageParam(): [number, (p: number) => void] {
  const [raw, set] = useUrlParam('page', '1');
  const n = Number.parseInt(raw, 10);
  return [Number.isFinite(n) && n > 0 ? n : 1, (p: number) => set(String(p))];
}

/** A search box's text, written to the address once typing pauses. */
export function useSearchText(value: string, commit: (v: string) => void, delayMs = 300): [string, (v: string) => void] {
  const [text, setText] = useState(value);
  const [debounced] = useDebouncedValue(text, delayMs);
  useEffect(() => {
    if (debounced !== value) commit(debounced);
    // Only a change of the typed text commits; `value` changing from the address does not.
  }, [debounced]);
  return [text, setText];
}

/** Sets several address parameters at once (separate setters in one event would race). */
export function useSetUrlParams(): (values: Record<string, string>) => void {
  const [, setParams] = useSearchParams();
  return useCallback(
    (values: Record<string, string>) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(values)) {
            if (v === '') next.delete(k);
            else next.set(k, v);
          }
          next.delete('page');
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
}
