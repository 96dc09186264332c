// Providers and routes. Login and the forced password change load eagerly;
// every signed-in page is its own chunk (React.lazy), so the entry stays
// small and heavy libraries (uPlot, CodeMirror, qrcode) load only with the
// page that needs them. After a redeploy the old chunk names are gone: a
// failed chunk load reloads the page once to pick up the new index.html.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Component, type ComponentType, lazy, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { BrowserRouter, Navigate, Outlet, Route, Routes, useLocation } from 'react-router';
import { ConfirmProvider } from './components/Confirm.js';
import { Shell } from './components/Shell.js';
import { ErrorCard, Loading } from './components/ui.js';
import { ApiError } from './lib/api.js';
import { AuthProvider, useAuth } from './lib/auth.js';
import { LiveProvider } from './lib/live.js';
import { ThemeProvider } from './lib/theme.js';
import { ChangePassword, Login } from './pages/Login.js';
import { PAGES } from './routes.js';

const RELOAD_FLAG = 'kanade-chunk-reload';

function page(load: () => Promise<{ default: ComponentType }>) {
  return lazy(() =>
    load().then(
      (m) => {
        sessionStorage.removeItem(RELOAD_FLAG);
        return m;
      },
      (err: unknown) => {
        if (!sessionStorage.getItem(RELOAD_FLAG)) {
          sessionStorage.setItem(RELOAD_FLAG, '1');
          window.location.reload();
          return new Promise<never>(() => {});
        }
        throw err;
      },
    ),
  );
}

const Dashboard = page(PAGES.dashboard);
const Agents = page(PAGES.agents);
const AgentDetail = page(PAGES.agentDetail);
const AgentInstall = page(PAGES['agent-install']);
const JetStream = page(PAGES.jetstream);
const Jobs = page(PAGES.jobs);
const Schedules = page(PAGES.schedules);
const Exec = page(PAGES.exec);
const Run = page(PAGES.run);
const Activity = page(PAGES.activity);
const ResultDetail = page(PAGES.resultDetail);
const Audit = page(PAGES.audit);
const Account = page(PAGES.account);
const Accounts = page(PAGES.accounts);
const Settings = page(PAGES.settings);
const Inventory = page(PAGES.inventory);
const Compliance = page(PAGES.compliance);
const Events = page(PAGES.events);
const Groups = page(PAGES.groups);
const Config = page(PAGES.config);
const NotFound = page(PAGES.notFound);

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      gcTime: 60_000,
      refetchOnWindowFocus: true,
      // A 4xx will not get better by asking again.
      retry: (count, err) => count < 1 && !(err instanceof ApiError && err.status >= 400 && err.status < 500),
    },
  },
});

class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: unknown }> {
  override state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }
  override render() {
    return this.state.error ? <ErrorCard error={this.state.error} /> : this.props.children;
  }
}

function Protected() {
  const { token, session, loading } = useAuth();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!session) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (session.mustChangePassword) return <Navigate to="/change-password" replace />;
  return (
    <LiveProvider token={token}>
      <ConfirmProvider>
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </ConfirmProvider>
    </LiveProvider>
  );
}

function Title() {
  const { t } = useTranslation();
  document.title = t('app.title');
  return null;
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <ThemeProvider>
        <AuthProvider>
          <Title />
          <BrowserRouter>
            <Routes>
              <Route path="/login" element={<Login />} />
              <Route path="/change-password" element={<ChangePassword />} />
              <Route element={<Protected />}>
                <Route element={<Shell />}>
                  <Route index element={<Navigate to="/dashboard" replace />} />
                  <Route path="/dashboard" element={<Dashboard />} />
                  <Route path="/agents" element={<Agents />} />
                  <Route path="/agents/:pcId" element={<AgentDetail />} />
                  <Route path="/agent-install" element={<AgentInstall />} />
                  <Route path="/run" element={<Run />} />
                  <Route path="/exec" element={<Exec />} />
                  <Route path="/activity" element={<Activity />} />
                  <Route path="/activity/:resultId" element={<ResultDetail />} />
                  <Route path="/results/*" element={<Navigate to="/activity" replace />} />
                  <Route path="/inventory" element={<Inventory />} />
                  <Route path="/inventory/search" element={<Inventory />} />
                  <Route path="/compliance" element={<Compliance />} />
                  <Route path="/events" element={<Events />} />
                  <Route path="/audit" element={<Audit />} />
                  <Route path="/jobs" element={<Jobs />} />
                  <Route path="/schedules" element={<Schedules />} />
                  <Route path="/groups" element={<Groups />} />
                  <Route path="/config" element={<Config />} />
                  <Route path="/jetstream" element={<JetStream />} />
                  <Route path="/accounts" element={<Accounts />} />
                  <Route path="/account" element={<Account />} />
                  <Route path="/security" element={<Navigate to="/account" replace />} />
                  <Route path="/settings" element={<Settings />} />
                  <Route path="*" element={<NotFound />} />
                </Route>
              </Route>
            </Routes>
          </BrowserRouter>
        </AuthProvider>
      </ThemeProvider>
    </QueryClientProvider>
  );
}
