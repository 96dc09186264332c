// The session credential: a bearer token in localStorage (`kanade_token`),
// and the headers every request carries (the token, and
// `X-Kanade-Source: spa` so audit payloads name the dashboard as the source).

export const TOKEN_KEY = 'kanade_token';

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(token = getToken()): Record<string, string> {
  const h: Record<string, string> = { 'x-kanade-source': 'spa' };
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}
