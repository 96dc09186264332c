// Every signed-in page's chunk loader, and which one a path opens. App.tsx
// wraps the loaders in React.lazy; lib/early.ts calls the current page's
// loader while the session is still being checked, so the chunk downloads
// in parallel instead of after it.

export const PAGES = {
  dashboard: () => import('./pages/Dashboard.js'),
  agents: () => import('./pages/Agents.js'),
  agentDetail: () => import('./pages/AgentDetail.js'),
  'agent-install': () => import('./pages/AgentInstall.js'),
  inventory: () => import('./pages/Inventory.js'),
  compliance: () => import('./pages/Compliance.js'),
  events: () => import('./pages/Events.js'),
  jetstream: () => import('./pages/JetStream.js'),
  jobs: () => import('./pages/Jobs.js'),
  schedules: () => import('./pages/Schedules.js'),
  groups: () => import('./pages/Groups.js'),
  config: () => import('./pages/Config.js'),
  exec: () => import('./pages/Exec.js'),
  run: () => import('./pages/Run.js'),
  activity: () => import('./pages/Activity.js'),
  resultDetail: () => import('./pages/ResultDetail.js'),
  audit: () => import('./pages/Audit.js'),
  account: () => import('./pages/Account.js'),
  accounts: () => import('./pages/Accounts.js'),
  settings: () => import('./pages/Settings.js'),
  notFound: () => import('./pages/NotFound.js'),
};
export type PageName = keyof typeof PAGES;

/** The page a path shows (undefined for the public pages and redirects). */
export function pageForPath(pathname: string): PageName | undefined {
  const [first = '', second] = pathname.split('/').filter(Boolean);
  if (first === '' || first === 'dashboard') return 'dashboard';
  if (first === 'agents') return second ? 'agentDetail' : 'agents';
  if (first === 'activity') return second ? 'resultDetail' : 'activity';
  if (['login', 'change-password', 'results', 'security'].includes(first)) return undefined;
  return first in PAGES && first !== 'notFound' ? (first as PageName) : 'notFound';
}
