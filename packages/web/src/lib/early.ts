// A head start for the first page. Loading the app is a chain: the entry
// script runs, the session is checked (/api/auth/me), then the page's chunk
// loads, renders and only then asks for its data. Evaluated before anything
// else (first import of main.tsx), this module starts the page's chunk and
// its first GET requests (session, version, the page's data: lib/page-data)
// at once, with the stored token. apiFetch takes a started response for the
// same URL instead of fetching again (once, within 10 s, for the same
// token). Without a stored token nothing starts: the login page needs none
// of it. The live stream waits for `earlySettled` so it does not hold one
// of the browser's six connections per host while these are in flight.

import { PAGES, pageForPath } from '../routes.js';
import { rosterUrl, rosterView } from './agents-query.js';
import { DASHBOARD, FLEET_METRICS, fleetPerfUrl, META_KEYS, VERSION } from './page-data.js';
import { authHeaders, getToken } from './token.js';

const TTL_MS = 10_000;
const SETTLE_CAP_MS = 3_000;

interface Started {
  token: string;
  at: number;
  response: Promise<Response>;
}

const started = new Map<string, Started>();

/** The GET requests the page at `pathname?search` makes first. */
export function earlyPaths(pathname: string, search: string, now: number): string[] {
  const page = pageForPath(pathname);
  const paths = ['/api/auth/me', VERSION];
  if (page === 'dashboard')
    paths.push(...Object.values(DASHBOARD), ...FLEET_METRICS.map((m) => fleetPerfUrl(m, now)));
  if (page === 'agents') paths.push(rosterUrl(rosterView(new URLSearchParams(search))), META_KEYS);
  return paths;
}

function start() {
  const token = getToken();
  if (!token) return Promise.resolve();
  const page = pageForPath(location.pathname);
  // A failed chunk load is the lazy wrapper's to handle when the page renders.
  if (page) PAGES[page]().catch(() => undefined);
  const now = Date.now();
  const headers = authHeaders(token);
  const all: Promise<unknown>[] = [];
  for (const path of earlyPaths(location.pathname, location.search, now)) {
    const response = fetch(path, { headers });
    response.catch(() => undefined);
    started.set(path, { token, at: now, response });
    all.push(response.catch(() => undefined));
  }
  return Promise.all(all);
}

/** The response of a GET to `path` started early, if there is a fresh one for the current token. */
export function takeEarly(path: string): Promise<Response> | undefined {
  const s = started.get(path);
  if (!s) return undefined;
  started.delete(path);
  if (s.token !== getToken() || Date.now() - s.at > TTL_MS) return undefined;
  return s.response;
}

/** Resolves when the early requests have answered (at most 3 s after load). */
export const earlySettled: Promise<void> = Promise.race([
  start().then(() => undefined),
  new Promise<void>((r) => setTimeout(r, SETTLE_CAP_MS)),
]);
