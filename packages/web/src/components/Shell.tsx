// The signed-in layout: a fixed sidebar (Execute / Observe / Manage, as
// upstream; a page is listed only when the account's role and page
// allow-list let it in, the backend enforcing the same) with the session,
// live-stream state and backend version in its footer; on narrow screens a sticky top bar whose menu button opens the
// sidebar as a drawer (body scroll locked, closed on navigation). Pages load
// lazily inside the content area, so only that area waits for a chunk.
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, Suspense, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useLocation } from 'react-router';
import { apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { useLive } from '../lib/live.js';
import { VERSION } from '../lib/page-data.js';
import type { Role } from '../lib/types.js';
import type { Feature } from '../lib/wire-constants.js';
import { Loading } from './ui.js';

interface NavItem {
  to: string;
  label: string;
  /** Page allow-list key; personal Settings have none (language and theme are this browser's). */
  feature?: Feature;
  minRole?: Role;
}

export interface NavGroup {
  id: 'execute' | 'observe' | 'manage';
  items: NavItem[];
}

/** The pages this build has, by sidebar group (groups without pages are not shown). */
export const NAV: NavGroup[] = [
  {
    id: 'execute',
    items: [
      { to: '/run', label: 'nav.run', feature: 'run', minRole: 'operator' },
      { to: '/exec', label: 'nav.exec', feature: 'exec', minRole: 'operator' },
    ],
  },
  {
    id: 'observe',
    items: [
      { to: '/agents', label: 'nav.agents', feature: 'agents' },
      { to: '/agent-install', label: 'nav.agentInstall', feature: 'agent-install' },
      { to: '/inventory', label: 'nav.inventory', feature: 'inventory' },
      { to: '/compliance', label: 'nav.compliance', feature: 'compliance' },
      { to: '/activity', label: 'nav.activity', feature: 'activity' },
      { to: '/events', label: 'nav.events', feature: 'events' },
      { to: '/audit', label: 'nav.audit', feature: 'audit' },
    ],
  },
  {
    id: 'manage',
    items: [
      { to: '/jobs', label: 'nav.jobs', feature: 'jobs' },
      { to: '/schedules', label: 'nav.schedules', feature: 'schedules' },
      { to: '/groups', label: 'nav.groups', feature: 'groups' },
      { to: '/config', label: 'nav.config', feature: 'config' },
      { to: '/jetstream', label: 'nav.jetstream', feature: 'jetstream' },
      { to: '/accounts', label: 'nav.accounts', feature: 'accounts', minRole: 'admin' },
      { to: '/settings', label: 'nav.settings' },
    ],
  },
];

const GROUP_COLORS: Record<NavGroup['id'], string> = {
  execute: 'text-violet-600 dark:text-violet-400',
  observe: 'text-amber-600 dark:text-amber-400',
  manage: 'text-teal-600 dark:text-teal-400',
};

function Link({ to, children }: { to: string; children: ReactNode }) {
  return (
    <NavLink
      to={to}
      className={({ isActive }) =>
        `block rounded-md px-3 py-1.5 text-sm ${
          isActive
            ? 'bg-violet-100 font-medium text-violet-900 dark:bg-violet-950 dark:text-violet-100'
            : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800'
        }`
      }
    >
      {children}
    </NavLink>
  );
}

function SidebarFooter() {
  const { t } = useTranslation();
  const { session, logout } = useAuth();
  const live = useLive();
  const version = useQuery({
    queryKey: ['version'],
    queryFn: () => apiJson<{ version: string }>(VERSION),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const liveTone =
    live.status === 'live' ? 'bg-emerald-500' : live.status === 'connecting' ? 'bg-amber-400' : 'bg-zinc-400';
  return (
    <div className="space-y-2 border-t border-zinc-200 p-3 text-xs dark:border-zinc-800">
      <div className="flex items-center justify-between gap-2">
        <span className="truncate" data-testid="session-user">
          {session?.kind === 'token'
            ? t('auth.apiToken')
            : session?.kind === 'open'
              ? t('auth.open')
              : (session?.username ?? '')}
          {session ? <span className="muted"> · {t(`roles.${session.role}`)}</span> : null}
        </span>
        {session?.kind !== 'open' ? (
          <button type="button" className="link shrink-0" onClick={logout}>
            {t('auth.logout')}
          </button>
        ) : null}
      </div>
      {session?.kind === 'account' ? (
        <NavLink to="/account" className="link block">
          {t('nav.account')}
        </NavLink>
      ) : null}
      <div className="muted flex items-center justify-between gap-2">
        <span className="flex items-center gap-1.5" data-testid="live-status" data-status={live.status}>
          <span className={`size-2 rounded-full ${liveTone}`} />
          {t(`live.${live.status}`)}
        </span>
        <span data-testid="backend-version">{version.data ? `v${version.data.version}` : ''}</span>
      </div>
    </div>
  );
}

function Sidebar() {
  const { t } = useTranslation();
  const { hasRole, canSee } = useAuth();
  return (
    <nav className="flex h-full flex-col" aria-label={t('nav.main')}>
      <div className="px-4 py-4 text-lg font-semibold">
        <span className="bg-gradient-to-r from-violet-600 via-amber-500 to-teal-500 bg-clip-text text-transparent">
          奏 kanade
        </span>
      </div>
      <div className="flex-1 space-y-4 overflow-y-auto px-2">
        <Link to="/dashboard">{t('nav.dashboard')}</Link>
        {NAV.map((g) => {
          const items = g.items.filter(
            (i) => (!i.feature || canSee(i.feature)) && (!i.minRole || hasRole(i.minRole)),
          );
          if (items.length === 0) return null;
          return (
            <div key={g.id}>
              <div
                className={`px-3 pb-1 text-[11px] font-semibold tracking-wider uppercase ${GROUP_COLORS[g.id]}`}
              >
                {t(`nav.group.${g.id}`)}
              </div>
              {items.map((i) => (
                <Link key={i.to} to={i.to}>
                  {t(i.label)}
                </Link>
              ))}
            </div>
          );
        })}
      </div>
      <SidebarFooter />
    </nav>
  );
}

export function Shell() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const location = useLocation();

  // biome-ignore lint/correctness/useExhaustiveDependencies: close the drawer whenever the route changes
  useEffect(() => setOpen(false), [location.pathname]);
  useEffect(() => {
    document.body.style.overflow = open ? 'hidden' : '';
    return () => {
      document.body.style.overflow = '';
    };
  }, [open]);

  return (
    <div className="min-h-dvh lg:pl-56">
      <aside className="fixed inset-y-0 left-0 hidden w-56 border-r border-zinc-200 bg-white lg:block dark:border-zinc-800 dark:bg-zinc-900">
        <Sidebar />
      </aside>
      <header className="sticky top-0 z-30 flex items-center gap-3 border-b border-zinc-200 bg-white/90 px-3 py-2 backdrop-blur lg:hidden dark:border-zinc-800 dark:bg-zinc-900/90">
        <button type="button" className="btn px-2" aria-label={t('nav.menu')} onClick={() => setOpen(true)}>
          ☰
        </button>
        <span className="font-semibold">奏 kanade</span>
      </header>
      {open ? (
        <div className="fixed inset-0 z-40 lg:hidden">
          <button
            type="button"
            aria-label={t('nav.close')}
            className="absolute inset-0 bg-black/40"
            onClick={() => setOpen(false)}
          />
          <aside className="absolute inset-y-0 left-0 w-64 bg-white shadow-xl dark:bg-zinc-900">
            <Sidebar />
          </aside>
        </div>
      ) : null}
      <main className="mx-auto max-w-screen-2xl p-3 sm:p-5">
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
