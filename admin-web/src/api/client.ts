// The HTTP client of the admin API: bearer tokens kept in memory and in sessionStorage (so a
// reload keeps the session, a closed tab ends it), refreshed before they run out and once more
// when the service says one expired; a refresh that is refused ends the session. Every request
// names the app's language (Accept-Language): the service words its error messages in it.

import type { Page, SessionView } from './types';

export const API_BASE = '/api/v1';
export const SESSION_KEY = 'b24wa.admin.session';
export const SESSION_EXPIRED_MESSAGE = 'Your session has expired. Please sign in again.';

/** The words the client itself says (the service's own errors carry their message). */
export interface ClientMessages {
  sessionExpired: () => string;
  /** The service could not be reached at all. */
  unreachable: () => string;
  /** A refresh could not reach the service (the session is kept). */
  unreachableShort: () => string;
  /** An error answer without a message of its own (a proxy's page). */
  answered: (status: number) => string;
}

const ENGLISH: ClientMessages = {
  sessionExpired: () => SESSION_EXPIRED_MESSAGE,
  unreachable: () => 'The service cannot be reached. Check your connection and try again.',
  unreachableShort: () => 'The service cannot be reached.',
  answered: (status) => `The service answered ${status}`,
};

/** An error answer (`{"error": {"code", "message"}}`), or a failure to reach the service. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** When the access token runs out (ms since the epoch). */
  expiresAt: number;
  /** How long the access token lived when issued (ms); short-lived tokens refresh later. */
  lifetimeMs?: number;
}

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface ClientOptions {
  /** Prefix of every path (default `/api/v1`). */
  base?: string;
  fetch?: typeof fetch;
  /** Where the session survives a reload (default: none, memory only). */
  storage?: KeyValueStore | null;
  now?: () => number;
  /** Refresh this long before the access token runs out (default 30 s). */
  refreshLeewayMs?: number;
  /** The language to ask the service's messages in (`Accept-Language`); none: not sent. */
  language?: () => string;
  /** The client's own words (default: English). */
  messages?: ClientMessages;
}

export type SessionEnd = 'expired' | 'logout';

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Read the answer as text (a CSV download) rather than JSON. */
  text?: boolean;
}

/** Codes with which the service refuses an access token that a refresh may replace. */
const REFRESHABLE = new Set(['token_expired', 'token_invalid']);

export function queryString(query?: Query): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function errorOf(res: Response, words: ClientMessages): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || words.answered(res.status);
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.code) code = body.error.code;
    if (body?.error?.message) message = body.error.message;
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(res.status, code, message);
}

/** A list answer as a page: the paged shape, or a bare array (one page holding everything). */
export function asPage<T>(raw: Page<T> | T[]): Page<T> {
  if (Array.isArray(raw)) {
    return { items: raw, page: 1, per_page: raw.length, total: raw.length };
  }
  return raw;
}

export class ApiClient {
  private session: Session | null = null;
  private refreshing: Promise<Session> | null = null;
  private readonly listeners = new Set<(why: SessionEnd) => void>();
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: KeyValueStore | null;
  private readonly now: () => number;
  private readonly leeway: number;
  private readonly language: (() => string) | null;
  private readonly words: ClientMessages;

  constructor(opts: ClientOptions = {}) {
    this.base = opts.base ?? API_BASE;
    // Bound: a detached `fetch` throws "Illegal invocation" in browsers.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.storage = opts.storage ?? null;
    this.now = opts.now ?? (() => Date.now());
    this.leeway = opts.refreshLeewayMs ?? 30_000;
    this.language = opts.language ?? null;
    this.words = opts.messages ?? ENGLISH;
    this.session = this.load();
  }

  get hasSession(): boolean {
    return this.session !== null;
  }

  /** Called when the session ends: refused refresh (`expired`) or `logout()`. */
  onSessionEnd(listener: (why: SessionEnd) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async login(email: string, password: string): Promise<SessionView> {
    const res = await this.send('POST', '/auth/login', { body: { email, password } }, null);
    if (!res.ok) throw await errorOf(res, this.words);
    const view = (await res.json()) as SessionView;
    this.store(view);
    return view;
  }

  logout(): void {
    this.end('logout');
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  /** A GET whose answer is a text file (CSV), returned as is. */
  getText(path: string, query?: Query): Promise<string> {
    return this.request<string>('GET', path, { query, text: true });
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {} });
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let session = this.session;
    if (!session) throw new ApiError(401, 'session_expired', this.words.sessionExpired());
    // Refresh ahead, but never more than a quarter of the token's life ahead (a 60 s token
    // would otherwise be refreshed on every call).
    const leeway = Math.min(this.leeway, (session.lifetimeMs ?? Number.POSITIVE_INFINITY) / 4);
    if (session.expiresAt - this.now() < leeway) {
      session = await this.refresh(session);
    }
    let res = await this.send(method, path, opts, session.accessToken);
    if (res.status === 401) {
      const err = await errorOf(res, this.words);
      if (!REFRESHABLE.has(err.code)) throw err;
      session = await this.refresh(session);
      res = await this.send(method, path, opts, session.accessToken);
      if (res.status === 401) {
        // A fresh token refused too: the user was disabled or the keys changed.
        this.end('expired');
        throw new ApiError(401, 'session_expired', this.words.sessionExpired());
      }
    }
    if (!res.ok) throw await errorOf(res, this.words);
    if (res.status === 204) return undefined as T;
    if (opts.text) return (await res.text()) as T;
    return (await res.json()) as T;
  }

  /**
   * A new token pair for `stale`. Concurrent callers share one refresh (a refresh token used
   * twice at once would race); a caller whose session was already replaced gets the new one.
   */
  private refresh(stale: Session): Promise<Session> {
    if (this.refreshing) return this.refreshing;
    if (this.session && this.session.accessToken !== stale.accessToken) {
      return Promise.resolve(this.session);
    }
    const run = async (): Promise<Session> => {
      let res: Response;
      try {
        res = await this.send('POST', '/auth/refresh', { body: { refresh_token: stale.refreshToken } }, null);
      } catch (e) {
        // Unreachable service: keep the session, the next call tries again.
        throw e instanceof ApiError ? e : new ApiError(0, 'network', this.words.unreachableShort());
      }
      if (res.status === 401 || res.status === 400) {
        this.end('expired');
        throw new ApiError(401, 'session_expired', this.words.sessionExpired());
      }
      if (!res.ok) throw await errorOf(res, this.words);
      const view = (await res.json()) as SessionView;
      return this.store(view);
    };
    this.refreshing = run().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async send(method: string, path: string, opts: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const language = this.language?.();
    if (language) headers['Accept-Language'] = language;
    let body: string | undefined;
    if (opts.body !== undefined && method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    try {
      return await this.fetchImpl(`${this.base}${path}${queryString(opts.query)}`, {
        method,
        headers,
        body,
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', this.words.unreachable());
    }
  }

  private store(view: SessionView): Session {
    const session: Session = {
      accessToken: view.access_token,
      refreshToken: view.refresh_token,
      expiresAt: this.now() + view.expires_in * 1000,
      lifetimeMs: view.expires_in * 1000,
    };
    this.session = session;
    try {
      this.storage?.setItem(SESSION_KEY, JSON.stringify(session));
    } catch {
      // Storage full or disabled: the session lives in memory only.
    }
    return session;
  }

  private load(): Session | null {
    try {
      const raw = this.storage?.getItem(SESSION_KEY);
      if (!raw) return null;
      const s = JSON.parse(raw) as Partial<Session>;
      if (typeof s.accessToken === 'string' && typeof s.refreshToken === 'string' && typeof s.expiresAt === 'number') {
        const lifetimeMs = typeof s.lifetimeMs === 'number' ? s.lifetimeMs : undefined;
        return { accessToken: s.accessToken, refreshToken: s.refreshToken, expiresAt: s.expiresAt, lifetimeMs };
      }
    } catch {
      // A damaged entry is no session.
    }
    return null;
  }

  private end(why: SessionEnd): void {
    const had = this.session !== null;
    this.session = null;
    try {
      this.storage?.removeItem(SESSION_KEY);
    } catch {
      // Nothing to remove.
    }
    if (had || why === 'logout') this.listeners.forEach((l) => l(why));
  }
}
