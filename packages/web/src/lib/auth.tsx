// Who is signed in. The credential is a bearer token in localStorage: either
// the backend's API token pasted on the login page, or a JWT from
// /api/auth/login. The role comes from /api/auth/me; while a backend has no
// accounts (no /api/auth/me route) the only accepted credential is the static
// API token, which the backend treats as admin, so that is the role shown.
// With KANADE_AUTH_DISABLE the API answers without a token and no login is
// needed. A 401 anywhere (api.ts) signs the operator out. A credential change
// (password, MFA) revokes every session of the account and answers a fresh
// token, which renewSession() stores in place of the old one.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, AUTH_EXPIRED_EVENT, apiFetch, apiJson, getToken, setToken, TOKEN_KEY } from './api.js';
import type { LoginResponse, Me, Role } from './types.js';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const ALWAYS_OPEN = new Set(['dashboard', 'agents']);

export interface Session {
  /** How the caller is authenticated. */
  kind: 'account' | 'token' | 'open';
  username: string | null;
  role: Role;
  mustChangePassword: boolean;
  mfaEnabled: boolean;
  /** Pages this account may open; null = every page. */
  features: string[] | null;
}

interface AuthState {
  token: string | null;
  session: Session | undefined;
  loading: boolean;
  /** Checks a pasted API token against the backend, then keeps it. */
  loginWithToken(token: string): Promise<void>;
  /** Username/password (+ MFA code) login; resolves to the login response. */
  loginWithPassword(username: string, password: string, totpCode?: string): Promise<LoginResponse>;
  /** Keeps the fresh token a credential change answered (the old one is revoked) and re-reads the session. */
  renewSession(token: string): Promise<void>;
  logout(): void;
  hasRole(min: Role): boolean;
  /** Whether the account may open the page with this feature key (dashboard and agents are always open). */
  canSee(feature: string): boolean;
}

const AuthContext = createContext<AuthState | null>(null);

/**
 * The session behind `token` (null: is the API open?). `checking` is for a
 * pasted token: its 401 is an answer for the login form, not an expiry.
 */
async function fetchSession(token: string | null, checking: boolean): Promise<Session> {
  const auth = token ? (checking ? { token } : {}) : { anonymous: true };
  const res = await apiFetch('/api/auth/me', { accept: [404], ...auth });
  if (res.status !== 404) {
    const me = (await res.json()) as Me;
    return {
      // The backend names the static token's identity `service-token`, as upstream does.
      kind: !token ? 'open' : me.username === 'service-token' ? 'token' : 'account',
      username: me.username,
      role: me.role,
      mustChangePassword: me.must_change_pw,
      mfaEnabled: me.mfa_enabled ?? false,
      features: me.allowed_features ?? null,
    };
  }
  // No accounts on this backend: prove the token on a cheap viewer route.
  await apiFetch('/api/agents/versions', auth);
  return {
    kind: token ? 'token' : 'open',
    username: null,
    role: 'admin',
    mustChangePassword: false,
    mfaEnabled: false,
    features: null,
  };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [token, setTokenState] = useState<string | null>(getToken);

  useEffect(() => {
    const expired = () => {
      setTokenState(null);
      qc.clear();
    };
    const storage = (e: StorageEvent) => {
      if (e.key === TOKEN_KEY) setTokenState(e.newValue);
    };
    window.addEventListener(AUTH_EXPIRED_EVENT, expired);
    window.addEventListener('storage', storage);
    return () => {
      window.removeEventListener(AUTH_EXPIRED_EVENT, expired);
      window.removeEventListener('storage', storage);
    };
  }, [qc]);

  // Without a token this asks once whether the API is open (auth disabled).
  const session = useQuery({
    queryKey: ['auth', 'session', token],
    queryFn: () => fetchSession(token, false),
    retry: false,
    staleTime: 60_000,
    refetchOnWindowFocus: false,
  });

  const loginWithToken = useCallback(
    async (t: string) => {
      const s = await fetchSession(t, true);
      setToken(t);
      qc.setQueryData(['auth', 'session', t], s);
      setTokenState(t);
    },
    [qc],
  );

  const loginWithPassword = useCallback(async (username: string, password: string, totpCode?: string) => {
    const r = await apiJson<LoginResponse>('/api/auth/login', {
      method: 'POST',
      anonymous: true,
      body: { username, password, ...(totpCode ? { code: totpCode } : {}) },
    });
    setToken(r.token);
    setTokenState(r.token);
    return r;
  }, []);

  const renewSession = useCallback(
    async (t: string) => {
      // Stored first, so a request still out with the revoked token cannot sign the operator out (api.ts).
      setToken(t);
      const s = await fetchSession(t, false);
      qc.setQueryData(['auth', 'session', t], s);
      setTokenState(t);
    },
    [qc],
  );

  const logout = useCallback(() => {
    setToken(null);
    setTokenState(null);
    qc.clear();
  }, [qc]);

  const value = useMemo<AuthState>(() => {
    const s = session.data;
    return {
      token,
      session: s,
      loading: session.isPending,
      loginWithToken,
      loginWithPassword,
      renewSession,
      logout,
      hasRole: (min) => (s ? RANK[s.role] >= RANK[min] : false),
      canSee: (f) => !s?.features || ALWAYS_OPEN.has(f) || s.features.includes(f),
    };
  }, [token, session.data, session.isPending, loginWithToken, loginWithPassword, renewSession, logout]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}
