// Who is signed in (from `GET /auth/me`), sign-in and sign-out, and the notice shown on the sign-in
// page when a session ended by itself.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, client } from '../api';
import type { SessionEnd } from '../api/client';
import type { Me } from '../api/types';

type Status = 'checking' | 'signed-out' | 'signed-in';

interface AuthState {
  status: Status;
  me: Me | null;
  /** Why the user is on the sign-in page after a session (the page words it). */
  notice: SessionEnd | null;
  login: (email: string, password: string) => Promise<Me>;
  logout: () => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>(client.hasSession ? 'checking' : 'signed-out');
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<SessionEnd | null>(null);

  useEffect(
    () =>
      client.onSessionEnd((why) => {
        setMe(null);
        setStatus('signed-out');
        setNotice(why);
      }),
    [],
  );

  useEffect(() => {
    if (!client.hasSession) return;
    api
      .me()
      .then((m) => {
        setMe(m);
        setStatus('signed-in');
      })
      .catch(() => {
        // An expired session already told the listener; anything else: sign in again.
        setStatus('signed-out');
      });
  }, []);

  const login = useCallback(async (email: string, password: string) => {
    await client.login(email, password);
    const m = await api.me();
    setMe(m);
    setNotice(null);
    setStatus('signed-in');
    return m;
  }, []);

  const logout = useCallback(() => client.logout(), []);

  const value = useMemo(() => ({ status, me, notice, login, logout }), [status, me, notice, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in caller (inside the signed-in layout only). */
export function useMe(): Me {
  const { me } = useAuth();
  if (!me) throw new Error('useMe without a session');
  return me;
}
