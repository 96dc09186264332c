// The fleet at a glance: health rollup (agents, JetStream), agent versions,
// fleet CPU / memory over 24 h, the busiest hosts, the latest results and
// audit entries, the compliance summary (checks needing attention first)
// and the upcoming schedule fires (for accounts that may open those pages; a
// card the backend refuses with 403 is left out), under the fleet freeze
// banner while scheduled fires are being skipped. Agent
// counts update from the live stream, results and audit refetch when it
// reports news; the rest polls (faster while the stream is down). Any card whose query fails is named in the degraded-data banner, so
// an API outage never looks like a quiet fleet (upstream #522).
import { type UseQueryResult, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ExitCodeBadge } from '../components/badges.js';
import { byAttention, CheckBar, CheckCountsText } from '../components/checks.js';
import { DataTable } from '../components/DataTable.js';
import { FreezeBanner } from '../components/Freeze.js';
import { TimeChart } from '../components/TimeChart.js';
import { Card, Chip, Empty, ErrorCard, errorText, Loading, PageHeader, Stat } from '../components/ui.js';
import { ApiError, apiFetch, apiJson } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { onGrid } from '../lib/buckets.js';
import { ago, bytes, dateTime, num, pct } from '../lib/format.js';
import { type LiveCounters, useLiveCounters, usePollInterval } from '../lib/live.js';
import { DASHBOARD, fleetPerfUrl } from '../lib/page-data.js';
import type {
  AgentVersion,
  AuditEntry,
  ChecksResponse,
  FleetHealth,
  FleetPerf,
  ResultRow,
  TopRows,
} from '../lib/types.js';

async function fleetHealth(): Promise<FleetHealth> {
  // 503 means degraded; its body is still the rollup.
  const res = await apiFetch(DASHBOARD.health, { accept: [503] });
  return (await res.json()) as FleetHealth;
}

const fleetPerf = (metric: string) => apiJson<FleetPerf>(fleetPerfUrl(metric, Date.now()));

function HealthCard({ health, counters }: { health: FleetHealth; counters: LiveCounters | undefined }) {
  const { t } = useTranslation();
  const agents =
    counters && counters.observed_at > health.observed_at
      ? { known: counters.known, active: counters.active, stale: counters.stale }
      : health.agents;
  const tone = health.status === 'ok' ? 'ok' : health.status === 'degraded' ? 'bad' : 'warn';
  return (
    <Card
      title={t('dashboard.health')}
      actions={<Chip tone={tone}>{t(`dashboard.status.${health.status}`)}</Chip>}
      testId="fleet-health"
    >
      <div className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Link to="/agents?status=online" data-testid="count-active">
          <Stat label={t('dashboard.active')} value={num(agents.active)} tone="ok" />
        </Link>
        <Link to="/agents" data-testid="count-known">
          <Stat label={t('dashboard.known')} value={num(agents.known)} />
        </Link>
        <Link to="/agents?status=offline" data-testid="count-stale">
          <Stat
            label={t('dashboard.stale')}
            value={num(agents.stale)}
            tone={agents.stale > 0 ? 'warn' : undefined}
          />
        </Link>
        <Link to="/jetstream">
          <Stat
            label={t('dashboard.jetstream')}
            value={`${health.jetstream.healthy}/${health.jetstream.total}`}
            tone={health.jetstream.all_ok ? undefined : 'bad'}
          />
        </Link>
      </div>
      {health.jetstream.missing.length ? (
        <p className="mt-3 text-sm text-red-600 dark:text-red-400">
          {t('dashboard.missing')}: {health.jetstream.missing.join(', ')}
        </p>
      ) : null}
    </Card>
  );
}

function VersionsCard({ versions }: { versions: AgentVersion[] }) {
  const { t } = useTranslation();
  const max = Math.max(1, ...versions.map((v) => v.total));
  return (
    <Card title={t('dashboard.versions')} testId="agent-versions">
      {versions.length === 0 ? (
        <Empty>{t('dashboard.noAgents')}</Empty>
      ) : (
        <ul className="space-y-2">
          {versions.map((v) => (
            <li key={v.version ?? ''} className="text-sm">
              <div className="flex justify-between gap-2">
                <span className="font-mono">{v.version ?? t('common.unknown')}</span>
                <span className="muted tabular-nums">
                  {t('dashboard.activeOfTotal', { active: num(v.active), total: num(v.total) })}
                </span>
              </div>
              <div className="mt-1 h-1.5 rounded bg-zinc-200 dark:bg-zinc-800">
                <div className="h-1.5 rounded bg-teal-500/40" style={{ width: `${(v.total / max) * 100}%` }}>
                  <div
                    className="h-1.5 rounded bg-teal-500"
                    style={{ width: `${v.total ? (v.active / v.total) * 100 : 0}%` }}
                  />
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function TopCard({
  title,
  data,
  format,
  testId,
}: {
  title: string;
  data: TopRows;
  format(v: number): string;
  testId: string;
}) {
  const { t } = useTranslation();
  return (
    <Card title={title} testId={testId}>
      {data.rows.length === 0 ? (
        <Empty>{t('common.noData')}</Empty>
      ) : (
        <DataTable
          rows={data.rows}
          rowKey={(r) => r.pc_id}
          columns={[
            {
              id: 'pc',
              header: t('agents.col.pc_id'),
              cell: (r) => (
                <Link
                  className="link font-mono whitespace-nowrap"
                  to={`/agents/${encodeURIComponent(r.pc_id)}`}
                >
                  {r.pc_id}
                </Link>
              ),
            },
            { id: 'host', header: t('agents.col.hostname'), cell: (r) => r.hostname ?? '—' },
            {
              id: 'v',
              header: t('dashboard.value'),
              cell: (r) => format(r.value),
              className: 'text-right tabular-nums',
            },
          ]}
        />
      )}
    </Card>
  );
}

/** A fleet series on the bucket grid of `base`, so every series has one value per x. */
function toSeries(p: FleetPerf | undefined, base: FleetPerf | undefined) {
  if (!base) return [];
  return onGrid({ ...base, points: p?.points ?? [] }).values((x) => x.value);
}

function FleetPerfCard({
  cpu,
  memUsed,
  memTotal,
}: {
  cpu: FleetPerf | undefined;
  memUsed: FleetPerf | undefined;
  memTotal: FleetPerf | undefined;
}) {
  const { t } = useTranslation();
  const base = cpu ?? memUsed ?? memTotal;
  const xs = base ? onGrid(base).xs : [];
  return (
    <Card title={t('dashboard.fleetPerf')} className="lg:col-span-2" testId="fleet-perf">
      <div className="grid gap-4 xl:grid-cols-2">
        <div>
          <div className="muted mb-1 text-xs">{t('dashboard.avgCpu')}</div>
          <TimeChart
            xs={xs}
            series={[{ label: t('perf.cpu'), color: '#7c3aed', values: toSeries(cpu, base) }]}
            format={(v) => pct(v)}
            yMin={0}
            testId="chart-fleet-cpu"
          />
        </div>
        <div>
          <div className="muted mb-1 text-xs">{t('dashboard.avgMem')}</div>
          <TimeChart
            xs={xs}
            series={[
              { label: t('perf.memUsed'), color: '#14b8a6', values: toSeries(memUsed, base) },
              { label: t('perf.memTotal'), color: '#a1a1aa', values: toSeries(memTotal, base) },
            ]}
            format={(v) => bytes(v)}
            yMin={0}
            binary
            testId="chart-fleet-mem"
          />
        </div>
      </div>
    </Card>
  );
}

function RecentResults({ rows }: { rows: ResultRow[] }) {
  const { t } = useTranslation();
  return (
    <Card
      title={t('dashboard.recentResults')}
      actions={
        <Link className="link text-xs" to="/activity">
          {t('dashboard.more')}
        </Link>
      }
      testId="recent-results"
    >
      {rows.length === 0 ? (
        <Empty>{t('activity.noResults')}</Empty>
      ) : (
        <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
          {rows.map((r) => (
            <li key={r.result_id} className="flex items-center justify-between gap-2 py-1.5">
              <Link className="link truncate font-mono" to={`/activity/${encodeURIComponent(r.result_id)}`}>
                {r.job_id ?? r.request_id} · {r.pc_id}
              </Link>
              <span className="flex shrink-0 items-center gap-2">
                <span className="muted text-xs">{ago(r.started_at)}</span>
                <ExitCodeBadge exitCode={r.exit_code} skipped={r.skipped} running={r.finished_at === null} />
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function RecentAudit({ rows }: { rows: AuditEntry[] }) {
  const { t } = useTranslation();
  return (
    <Card
      title={t('dashboard.recentAudit')}
      actions={
        <Link className="link text-xs" to="/audit">
          {t('dashboard.more')}
        </Link>
      }
      testId="recent-audit"
    >
      {rows.length === 0 ? (
        <Empty>{t('audit.none')}</Empty>
      ) : (
        <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
          {rows.map((e) => (
            <li key={e.id} className="flex items-center justify-between gap-2 py-1.5">
              <span className="truncate">
                <Chip>{e.actor}</Chip> <span className="font-mono">{e.action}</span>
                {e.target ? <span className="muted font-mono"> {e.target}</span> : null}
              </span>
              <span className="muted shrink-0 text-xs">{ago(e.occurred_at)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

interface Upcoming {
  id: string;
  job_id: string;
  when: Record<string, unknown>;
  next_run: string;
}

function UpcomingCard({ rows }: { rows: Upcoming[] }) {
  const { t } = useTranslation();
  return (
    <Card
      title={t('dashboard.upcoming')}
      actions={
        <Link className="link text-xs" to="/schedules">
          {t('dashboard.more')}
        </Link>
      }
      testId="upcoming-schedules"
    >
      {rows.length === 0 ? (
        <Empty>{t('dashboard.noUpcoming')}</Empty>
      ) : (
        <ul className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
          {rows.map((u) => (
            <li key={`${u.id}-${u.next_run}`} className="flex items-center justify-between gap-2 py-1.5">
              <Link className="link truncate font-mono" to={`/schedules?open=${encodeURIComponent(u.id)}`}>
                {u.id} · {u.job_id}
              </Link>
              <span className="muted shrink-0 text-xs" title={dateTime(u.next_run)}>
                {ago(u.next_run)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function ComplianceCard({ data }: { data: ChecksResponse }) {
  const { t } = useTranslation();
  const counts = [...data.counts].sort(byAttention).slice(0, 6);
  return (
    <Card
      title={t('dashboard.compliance')}
      actions={
        <Link className="link text-xs" to="/compliance">
          {t('dashboard.more')}
        </Link>
      }
      testId="compliance-summary"
    >
      {counts.length === 0 ? (
        <Empty>{t('compliance.none')}</Empty>
      ) : (
        <ul className="space-y-2">
          {counts.map((c) => (
            <li key={c.check_name} className="space-y-1 text-sm">
              <div className="flex flex-wrap items-center justify-between gap-2">
                <Link className="link" to={`/compliance?check=${encodeURIComponent(c.check_name)}`}>
                  {c.label ?? c.check_name}
                </Link>
                <CheckCountsText c={c} />
              </div>
              <CheckBar c={c} />
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/** A 403 means this account may not see that card: hide it rather than report a failure. */
const forbidden = (err: unknown) => err instanceof ApiError && err.status === 403;

function Section<T>({
  query,
  children,
  what,
}: {
  query: UseQueryResult<T>;
  children(data: T): ReactNode;
  what: string;
}) {
  if (query.data !== undefined) return <>{children(query.data)}</>;
  if (query.isError) return forbidden(query.error) ? null : <ErrorCard error={query.error} what={what} />;
  return (
    <div className="card">
      <Loading />
    </div>
  );
}

export default function Dashboard() {
  const { t } = useTranslation();
  const slow = usePollInterval(30_000, 60_000);
  const health = useQuery({ queryKey: ['health', 'fleet'], queryFn: fleetHealth, refetchInterval: slow });
  const counters = useLiveCounters();
  const versions = useQuery({
    queryKey: ['agents', 'versions'],
    queryFn: () => apiJson<AgentVersion[]>(DASHBOARD.versions),
    refetchInterval: slow,
  });
  const cpu = useQuery({
    queryKey: ['perf', 'fleet', 'cpu_pct'],
    queryFn: () => fleetPerf('cpu_pct'),
    refetchInterval: 60_000,
  });
  const memUsed = useQuery({
    queryKey: ['perf', 'fleet', 'mem_used_bytes'],
    queryFn: () => fleetPerf('mem_used_bytes'),
    refetchInterval: 60_000,
  });
  const memTotal = useQuery({
    queryKey: ['perf', 'fleet', 'mem_total_bytes'],
    queryFn: () => fleetPerf('mem_total_bytes'),
    refetchInterval: 60_000,
  });
  const topCpu = useQuery({
    queryKey: ['perf', 'top', 'cpu_pct'],
    queryFn: () => apiJson<TopRows>(DASHBOARD.topCpu),
    refetchInterval: 30_000,
  });
  const topMem = useQuery({
    queryKey: ['perf', 'top', 'mem_used_bytes'],
    queryFn: () => apiJson<TopRows>(DASHBOARD.topMem),
    refetchInterval: 30_000,
  });

  const { canSee } = useAuth();
  const recentResults = useQuery({
    queryKey: ['results', 'recent'],
    queryFn: () => apiJson<ResultRow[]>(DASHBOARD.results),
    enabled: canSee('activity'),
    refetchInterval: slow,
  });
  const recentAudit = useQuery({
    queryKey: ['audit', 'recent'],
    queryFn: () => apiJson<AuditEntry[]>(DASHBOARD.audit),
    enabled: canSee('audit'),
    refetchInterval: slow,
  });

  const upcoming = useQuery({
    queryKey: ['schedules', 'upcoming'],
    queryFn: () => apiJson<Upcoming[]>(DASHBOARD.upcoming),
    enabled: canSee('schedules'),
    refetchInterval: 60_000,
  });

  const compliance = useQuery({
    queryKey: ['checks', 'summary'],
    queryFn: () => apiJson<ChecksResponse>(DASHBOARD.checks),
    enabled: canSee('compliance'),
    refetchInterval: 60_000,
  });

  const named: [string, UseQueryResult<unknown>][] = [
    [t('dashboard.health'), health],
    [t('dashboard.versions'), versions],
    [t('dashboard.avgCpu'), cpu],
    [t('dashboard.avgMem'), memUsed],
    [t('dashboard.avgMem'), memTotal],
    [t('dashboard.topCpu'), topCpu],
    [t('dashboard.topMem'), topMem],
    [t('dashboard.recentResults'), recentResults],
    [t('dashboard.recentAudit'), recentAudit],
    [t('dashboard.upcoming'), upcoming],
    [t('dashboard.compliance'), compliance],
  ];
  const failing = named.filter(([, q]) => q.isError && !forbidden(q.error));
  const failingNames = [...new Set(failing.map(([n]) => n))];

  return (
    <div data-testid="dashboard">
      <PageHeader title={t('nav.dashboard')} />
      <div className="mb-4 empty:hidden">
        <FreezeBanner />
      </div>
      {failing.length ? (
        <div
          role="alert"
          data-testid="degraded-banner"
          className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100"
        >
          <strong>{t('dashboard.degradedData')}</strong> {failingNames.join(', ')}
          <ul className="mt-1 list-disc pl-5 text-xs">
            {failing.map(([n, q]) => (
              <li key={`${n}-${errorText(q.error)}`}>
                {n}: {errorText(q.error)}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {health.data?.status === 'degraded' ? (
        <div
          role="alert"
          data-testid="fleet-degraded"
          className="mb-4 rounded-lg border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/50 dark:text-red-200"
        >
          <strong>{t('dashboard.fleetDegraded')}</strong> {health.data.reasons.join('; ')}
        </div>
      ) : null}
      <div className="grid gap-4 lg:grid-cols-2">
        <Section query={health} what={t('dashboard.health')}>
          {(h) => <HealthCard health={h} counters={counters} />}
        </Section>
        <Section query={versions} what={t('dashboard.versions')}>
          {(v) => <VersionsCard versions={v} />}
        </Section>
        <FleetPerfCard cpu={cpu.data} memUsed={memUsed.data} memTotal={memTotal.data} />
        <Section query={topCpu} what={t('dashboard.topCpu')}>
          {(d) => <TopCard title={t('dashboard.topCpu')} data={d} format={(v) => pct(v)} testId="top-cpu" />}
        </Section>
        <Section query={topMem} what={t('dashboard.topMem')}>
          {(d) => (
            <TopCard title={t('dashboard.topMem')} data={d} format={(v) => bytes(v)} testId="top-mem" />
          )}
        </Section>
        {canSee('activity') ? (
          <Section query={recentResults} what={t('dashboard.recentResults')}>
            {(rows) => <RecentResults rows={rows} />}
          </Section>
        ) : null}
        {canSee('audit') ? (
          <Section query={recentAudit} what={t('dashboard.recentAudit')}>
            {(rows) => <RecentAudit rows={rows} />}
          </Section>
        ) : null}
        {canSee('schedules') ? (
          <Section query={upcoming} what={t('dashboard.upcoming')}>
            {(rows) => <UpcomingCard rows={rows} />}
          </Section>
        ) : null}
        {canSee('compliance') ? (
          <Section query={compliance} what={t('dashboard.compliance')}>
            {(d) => <ComplianceCard data={d} />}
          </Section>
        ) : null}
      </div>
    </div>
  );
}
