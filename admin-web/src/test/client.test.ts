import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, asPage, SESSION_EXPIRED_MESSAGE, SESSION_KEY, type Session } from '../api/client';

/** A scripted service: each call is answered by the first handler that matches. */
function fakeFetch(handler: (path: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: { path: string; auth: string | undefined; body: unknown }[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = String(input);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ path, auth: headers.Authorization, body: init.body ? JSON.parse(String(init.body)) : undefined });
    return handler(path, init);
  });
  return { fn: fn as unknown as typeof fetch, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const error = (status: number, code: string) => json(status, { error: { code, message: `${code} message` } });

function pair(n: number, expiresIn = 3600) {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: 'Bearer', expires_in: expiresIn, user: { id: 1, email: 'a@b.c', role: 'support', tenant_id: null, disabled: false, created_at: 0, last_login_at: null } };
}

class MemoryStorage {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
}

function stored(s: MemoryStorage): Session | null {
  const raw = s.getItem(SESSION_KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

describe('ApiClient', () => {
  it('logs in, keeps the tokens in storage and sends the access token', async () => {
    const storage = new MemoryStorage();
    const { fn, calls } = fakeFetch((path) => (path.endsWith('/auth/login') ? json(200, pair(1)) : json(200, { ok: true })));
    const c = new ApiClient({ fetch: fn, storage, now: () => 1_000 });
    await c.login('a@b.c', 'pw');
    expect(stored(storage)).toEqual({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresAt: 1_000 + 3_600_000, lifetimeMs: 3_600_000 });
    await c.get('/numbers', { page: 2, q: '', per_page: 20 });
    expect(calls[1]).toMatchObject({ path: '/api/v1/numbers?page=2&per_page=20', auth: 'Bearer access-1' });
    // A new client (a reload of the tab) picks the session up from storage.
    const again = new ApiClient({ fetch: fn, storage, now: () => 2_000 });
    expect(again.hasSession).toBe(true);
  });

  it('refreshes once when the service says the token expired, then retries the call', async () => {
    const storage = new MemoryStorage();
    const { fn, calls } = fakeFetch((path, init) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (path.endsWith('/auth/login')) return json(200, pair(1));
      if (path.endsWith('/auth/refresh')) return json(200, pair(2));
      return auth === 'Bearer access-2' ? json(200, { items: [] }) : error(401, 'token_expired');
    });
    const c = new ApiClient({ fetch: fn, storage });
    await c.login('a@b.c', 'pw');
    await expect(c.get('/chats')).resolves.toEqual({ items: [] });
    expect(calls.map((x) => x.path)).toEqual(['/api/v1/auth/login', '/api/v1/chats', '/api/v1/auth/refresh', '/api/v1/chats']);
    expect(calls[2]?.body).toEqual({ refresh_token: 'refresh-1' });
    expect(stored(storage)?.accessToken).toBe('access-2');
  });

  it('refreshes ahead of time when the access token is about to run out', async () => {
    let now = 0;
    const { fn, calls } = fakeFetch((path) => {
      if (path.endsWith('/auth/login')) return json(200, pair(1, 60));
      if (path.endsWith('/auth/refresh')) return json(200, pair(2, 60));
      return json(200, {});
    });
    const c = new ApiClient({ fetch: fn, now: () => now, refreshLeewayMs: 30_000 });
    await c.login('a@b.c', 'pw');
    now = 40_000; // 20 s left of a 60 s token: no refresh (a quarter of its life is the limit)
    await c.get('/a');
    now = 46_000; // 14 s left: refresh first
    await c.get('/b');
    expect(calls.map((x) => `${x.path} ${x.auth ?? ''}`.trim())).toEqual([
      '/api/v1/auth/login',
      '/api/v1/a Bearer access-1',
      '/api/v1/auth/refresh',
      '/api/v1/b Bearer access-2',
    ]);
  });

  it('refreshes a long-lived token 30 s ahead', async () => {
    let now = 0;
    const { fn, calls } = fakeFetch((path) => (path.endsWith('/auth/login') ? json(200, pair(1, 3600)) : path.endsWith('/auth/refresh') ? json(200, pair(2, 3600)) : json(200, {})));
    const c = new ApiClient({ fetch: fn, now: () => now });
    await c.login('a@b.c', 'pw');
    now = 3_600_000 - 31_000;
    await c.get('/a');
    now = 3_600_000 - 29_000;
    await c.get('/b');
    expect(calls.map((x) => x.path)).toEqual(['/api/v1/auth/login', '/api/v1/a', '/api/v1/auth/refresh', '/api/v1/b']);
  });

  it('shares one refresh between calls that fail at the same time', async () => {
    let refreshes = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { fn } = fakeFetch(async (path, init) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      if (path.endsWith('/auth/login')) return json(200, pair(1));
      if (path.endsWith('/auth/refresh')) {
        refreshes += 1;
        await gate;
        return json(200, pair(2));
      }
      return auth === 'Bearer access-2' ? json(200, { path }) : error(401, 'token_expired');
    });
    const c = new ApiClient({ fetch: fn });
    await c.login('a@b.c', 'pw');
    const all = Promise.all([c.get('/x'), c.get('/y'), c.get('/z')]);
    await new Promise((r) => setTimeout(r, 10));
    release();
    await expect(all).resolves.toEqual([{ path: '/api/v1/x' }, { path: '/api/v1/y' }, { path: '/api/v1/z' }]);
    expect(refreshes).toBe(1);
  });

  it('ends the session when the refresh is refused, and says so once', async () => {
    const storage = new MemoryStorage();
    const { fn } = fakeFetch((path) => {
      if (path.endsWith('/auth/login')) return json(200, pair(1));
      if (path.endsWith('/auth/refresh')) return error(401, 'token_expired');
      return error(401, 'token_expired');
    });
    const c = new ApiClient({ fetch: fn, storage });
    const ends: string[] = [];
    c.onSessionEnd((why) => ends.push(why));
    await c.login('a@b.c', 'pw');
    const results = await Promise.allSettled([c.get('/a'), c.get('/b')]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as ApiError;
      expect(e).toBeInstanceOf(ApiError);
      expect(e.code).toBe('session_expired');
      expect(e.message).toBe(SESSION_EXPIRED_MESSAGE);
    }
    expect(ends).toEqual(['expired']);
    expect(c.hasSession).toBe(false);
    expect(storage.getItem(SESSION_KEY)).toBeNull();
  });

  it('keeps the session when the service is unreachable during a refresh', async () => {
    let down = false;
    const { fn } = fakeFetch((path) => {
      if (path.endsWith('/auth/login')) return json(200, pair(1, 10));
      if (down) throw new TypeError('Failed to fetch');
      if (path.endsWith('/auth/refresh')) return json(200, pair(2));
      return json(200, {});
    });
    const c = new ApiClient({ fetch: fn });
    await c.login('a@b.c', 'pw');
    down = true;
    await expect(c.get('/a')).rejects.toMatchObject({ code: 'network', status: 0 });
    expect(c.hasSession).toBe(true);
    down = false;
    await expect(c.get('/a')).resolves.toEqual({});
  });

  it('passes other errors through with their code, without refreshing', async () => {
    const { fn, calls } = fakeFetch((path) => (path.endsWith('/auth/login') ? json(200, pair(1)) : error(403, 'forbidden')));
    const c = new ApiClient({ fetch: fn });
    await c.login('a@b.c', 'pw');
    await expect(c.post('/jobs/1/redrive')).rejects.toMatchObject({ status: 403, code: 'forbidden', message: 'forbidden message' });
    expect(calls.filter((x) => x.path.endsWith('/auth/refresh'))).toHaveLength(0);
  });

  it('reports a wrong password as invalid_credentials and stores nothing', async () => {
    const storage = new MemoryStorage();
    const { fn } = fakeFetch(() => error(401, 'invalid_credentials'));
    const c = new ApiClient({ fetch: fn, storage });
    await expect(c.login('a@b.c', 'nope')).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(c.hasSession).toBe(false);
    expect(storage.getItem(SESSION_KEY)).toBeNull();
  });

  it('logout forgets the tokens and tells the listeners', async () => {
    const storage = new MemoryStorage();
    const { fn } = fakeFetch(() => json(200, pair(1)));
    const c = new ApiClient({ fetch: fn, storage });
    const ends: string[] = [];
    c.onSessionEnd((why) => ends.push(why));
    await c.login('a@b.c', 'pw');
    c.logout();
    expect(ends).toEqual(['logout']);
    expect(storage.getItem(SESSION_KEY)).toBeNull();
    await expect(c.get('/a')).rejects.toMatchObject({ code: 'session_expired' });
  });

  it("asks in the app's language (Accept-Language), and words its own errors in it", async () => {
    let language = 'en';
    const seen: (string | undefined)[] = [];
    const { fn } = fakeFetch((path, init) => {
      seen.push((init.headers as Record<string, string>)['Accept-Language']);
      if (path.endsWith('/auth/login')) return json(200, pair(1));
      if (path.endsWith('/proxy')) return new Response('<html>bad gateway</html>', { status: 502 });
      return error(404, 'not_found');
    });
    const c = new ApiClient({
      fetch: fn,
      language: () => language,
      messages: { sessionExpired: () => 'Сеанс истёк', unreachable: () => 'Сервис недоступен', unreachableShort: () => 'Недоступен', answered: (s) => `Ответ ${s}` },
    });
    await c.login('a@b.c', 'pw');
    language = 'ru';
    await expect(c.get('/numbers/9')).rejects.toMatchObject({ code: 'not_found', message: 'not_found message' });
    await expect(c.get('/proxy')).rejects.toMatchObject({ code: 'http_502', message: 'Ответ 502' });
    expect(seen).toEqual(['en', 'ru', 'ru']);
    c.logout();
    await expect(c.get('/a')).rejects.toMatchObject({ code: 'session_expired', message: 'Сеанс истёк' });
    const offline = new ApiClient({ fetch: (() => Promise.reject(new TypeError('down'))) as typeof fetch, messages: { sessionExpired: () => '', unreachable: () => 'Сервис недоступен', unreachableShort: () => '', answered: () => '' } });
    await expect(offline.login('a@b.c', 'pw')).rejects.toMatchObject({ code: 'network', message: 'Сервис недоступен' });
  });

  it('takes a paged answer or a bare array', () => {
    expect(asPage([1, 2])).toEqual({ items: [1, 2], page: 1, per_page: 2, total: 2 });
    const p = { items: [1], page: 3, per_page: 1, total: 9 };
    expect(asPage(p)).toBe(p);
  });
});
