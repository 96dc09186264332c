// One PC: who it is (heartbeat fields), its groups and operator metadata,
// its host performance over a preset window (1h/6h/24h/7d/30d, bucketed
// server-side at 1m/5m/15m/1h/4h, preset in the URL as ?range=) in four
// charts (CPU, memory, disk, network), the effective configuration its agent
// runs with, and its latest process snapshot when investigation mode is on.
// Operators can ping it (a fresh heartbeat on request). The perf window is
// computed inside the query function (see lib/ranges.ts).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router';
import { DataTable } from '../components/DataTable.js';
import { TimeChart } from '../components/TimeChart.js';
import {
  Card,
  Empty,
  ErrorCard,
  errorText,
  Loading,
  OnlineChip,
  PageHeader,
  Segmented,
} from '../components/ui.js';
import { apiJson, qs } from '../lib/api.js';
import { useAuth } from '../lib/auth.js';
import { onGrid } from '../lib/buckets.js';
import { ago, bytes, dateTime, pct, rate } from '../lib/format.js';
import { usePollInterval } from '../lib/live.js';
import { isPreset, PERF_PRESETS, type PerfPreset, PRESET_NAMES, presetWindow } from '../lib/ranges.js';
import type { Agent, AgentPerf, AgentProcesses, PerfPoint } from '../lib/types.js';
import { EffectiveConfigCard, GroupsCard, MetaCard } from './agent-detail/panels.js';

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt className="muted text-xs">{label}</dt>
      <dd className="truncate text-sm">{children}</dd>
    </div>
  );
}

function Header({ agent }: { agent: Agent }) {
  const { t } = useTranslation();
  return (
    <Card testId="agent-header">
      <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
        <Field label={t('agents.col.status')}>
          <OnlineChip online={agent.online} />
        </Field>
        <Field label={t('agents.col.hostname')}>{agent.hostname ?? '—'}</Field>
        <Field label={t('agents.col.os')}>{agent.os_family ?? '—'}</Field>
        <Field label={t('agents.col.version')}>
          <span className="font-mono">{agent.agent_version ?? '—'}</span>
        </Field>
        <Field label={t('agents.col.lastHeartbeat')}>
          <span title={dateTime(agent.last_heartbeat)}>{ago(agent.last_heartbeat)}</span>
        </Field>
        <Field label={t('agents.col.lastLogon')}>
          {agent.last_logon_display_name || agent.last_logon_user || '—'}
        </Field>
        <Field label={t('agents.col.agentCpu')}>{pct(agent.agent_cpu_pct)}</Field>
        <Field label={t('agents.col.agentRss')}>{bytes(agent.agent_rss_bytes)}</Field>
        <Field label={t('agents.col.natsUser')}>{agent.nats_user ?? t('agents.notSeen')}</Field>
        <Field label={t('agents.col.signing')}>
          {agent.enforcing
            ? t('agents.signing.enforcing')
            : agent.command_keys
              ? t('agents.signing.keys', { n: agent.command_keys.length })
              : t('common.unknown')}
        </Field>
        {agent.quarantined_versions?.length ? (
          <Field label={t('agents.quarantinedHelp')}>{agent.quarantined_versions.join(', ')}</Field>
        ) : null}
      </dl>
    </Card>
  );
}

function PerfCharts({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const rangeParam = params.get('range');
  const preset: PerfPreset = isPreset(rangeParam) ? rangeParam : '24h';
  const perf = useQuery({
    queryKey: ['agents', 'perf', pcId, preset],
    queryFn: () => {
      const w = presetWindow(preset, Date.now());
      return apiJson<AgentPerf>(
        `/api/agents/${encodeURIComponent(pcId)}/perf${qs({
          from: new Date(w.from).toISOString(),
          to: new Date(w.to).toISOString(),
          step: w.step,
        })}`,
      );
    },
    refetchInterval: Math.max(60_000, PERF_PRESETS[preset].stepMs),
  });
  const points = perf.data?.points ?? [];
  const grid = perf.data ? onGrid(perf.data) : undefined;
  const xs = grid?.xs ?? [];
  const col = (k: keyof Omit<PerfPoint, 'at'>) => grid?.values((p) => p[k]) ?? [];
  const charts = [
    {
      id: 'cpu',
      title: t('perf.cpu'),
      format: (v: number) => pct(v),
      binary: false,
      series: [{ label: t('perf.cpu'), color: '#7c3aed', values: col('cpu_pct') }],
    },
    {
      id: 'mem',
      title: t('perf.memory'),
      format: (v: number) => bytes(v),
      binary: true,
      series: [
        { label: t('perf.memUsed'), color: '#14b8a6', values: col('mem_used_bytes') },
        { label: t('perf.memTotal'), color: '#a1a1aa', values: col('mem_total_bytes') },
      ],
    },
    {
      id: 'disk',
      title: t('perf.disk'),
      format: (v: number) => rate(v),
      binary: true,
      series: [
        { label: t('perf.read'), color: '#f59e0b', values: col('disk_read_bytes_per_sec') },
        { label: t('perf.write'), color: '#ef4444', values: col('disk_written_bytes_per_sec') },
      ],
    },
    {
      id: 'net',
      title: t('perf.network'),
      format: (v: number) => rate(v),
      binary: true,
      series: [
        { label: t('perf.rx'), color: '#0ea5e9', values: col('net_rx_bytes_per_sec') },
        { label: t('perf.tx'), color: '#8b5cf6', values: col('net_tx_bytes_per_sec') },
      ],
    },
  ];
  return (
    <Card
      title={t('perf.title')}
      actions={
        <Segmented
          label={t('perf.range')}
          value={preset}
          onChange={(v) =>
            setParams(
              (p) => {
                const n = new URLSearchParams(p);
                n.set('range', v);
                return n;
              },
              { replace: true },
            )
          }
          options={PRESET_NAMES.map((p) => ({ value: p, label: p }))}
        />
      }
      testId="perf-card"
    >
      {perf.isError ? <ErrorCard error={perf.error} /> : null}
      {!perf.data && perf.isPending ? <Loading /> : null}
      {perf.data ? (
        <>
          <p className="muted mb-2 text-xs">
            {t('perf.bucket', { step: PERF_PRESETS[preset].step, count: points.length })}
          </p>
          <div className="grid gap-4 xl:grid-cols-2">
            {charts.map((c) => (
              <div key={c.id}>
                <div className="muted mb-1 text-xs">{c.title}</div>
                <TimeChart
                  xs={xs}
                  series={c.series}
                  format={c.format}
                  yMin={0}
                  binary={c.binary}
                  testId={`chart-${c.id}`}
                />
              </div>
            ))}
          </div>
        </>
      ) : null}
    </Card>
  );
}

function Processes({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['agents', 'processes', pcId],
    queryFn: () => apiJson<AgentProcesses>(`/api/agents/${encodeURIComponent(pcId)}/processes`),
    refetchInterval: 30_000,
  });
  return (
    <Card
      title={t('processes.title')}
      actions={q.data?.latest_at ? <span className="muted text-xs">{ago(q.data.latest_at)}</span> : null}
      testId="processes"
    >
      {q.isError ? (
        <ErrorCard error={q.error} />
      ) : !q.data ? (
        <Loading />
      ) : q.data.processes.length === 0 ? (
        <Empty>{t('processes.none')}</Empty>
      ) : (
        <DataTable
          rows={q.data.processes}
          rowKey={(p) => `${p.pid}-${p.name}`}
          columns={[
            { id: 'pid', header: 'PID', cell: (p) => p.pid, className: 'tabular-nums' },
            {
              id: 'name',
              header: t('processes.name'),
              cell: (p) => <span className="font-mono">{p.name}</span>,
            },
            { id: 'cpu', header: 'CPU', cell: (p) => pct(p.cpu_pct), className: 'text-right tabular-nums' },
            {
              id: 'rss',
              header: 'RSS',
              cell: (p) => bytes(p.rss_bytes),
              className: 'text-right tabular-nums',
            },
            {
              id: 'read',
              header: t('perf.read'),
              cell: (p) => rate(p.disk_read_bytes_per_sec),
              className: 'text-right tabular-nums',
            },
            {
              id: 'write',
              header: t('perf.write'),
              cell: (p) => rate(p.disk_written_bytes_per_sec),
              className: 'text-right tabular-nums',
            },
          ]}
        />
      )}
    </Card>
  );
}

/** Asks the agent for a fresh heartbeat (operators); shows when it answered or why not. */
function Ping({ pcId }: { pcId: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const ping = useMutation({
    mutationFn: () =>
      apiJson<{ heartbeat: { at: string } }>(`/api/agents/${encodeURIComponent(pcId)}/ping?wait_secs=10`, {
        method: 'POST',
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['agents', 'detail', pcId] }),
  });
  return (
    <span className="flex items-center gap-2 text-sm">
      {ping.isSuccess ? (
        <span className="text-emerald-700 dark:text-emerald-400" data-testid="ping-result">
          {t('agents.pingAnswered', { at: dateTime(ping.data.heartbeat.at) })}
        </span>
      ) : ping.isError ? (
        <span className="text-red-700 dark:text-red-400" data-testid="ping-result">
          {errorText(ping.error)}
        </span>
      ) : null}
      <button type="button" className="btn" disabled={ping.isPending} onClick={() => ping.mutate()}>
        {ping.isPending ? t('common.working') : t('agents.ping')}
      </button>
    </span>
  );
}

export default function AgentDetail() {
  const { t } = useTranslation();
  const { pcId = '' } = useParams();
  const { hasRole, canSee } = useAuth();
  const agent = useQuery({
    queryKey: ['agents', 'detail', pcId],
    queryFn: () => apiJson<Agent>(`/api/agents/${encodeURIComponent(pcId)}`),
    refetchInterval: usePollInterval(30_000, 30_000),
  });
  return (
    <div className="space-y-4" data-testid="agent-detail">
      <PageHeader title={pcId}>
        {hasRole('operator') ? <Ping pcId={pcId} /> : null}
        {canSee('inventory') ? (
          <Link to={`/inventory?pc=${encodeURIComponent(pcId)}`} className="link text-sm">
            {t('agentDetail.facts')}
          </Link>
        ) : null}
        <Link to="/agents" className="link text-sm">
          {t('agents.back')}
        </Link>
      </PageHeader>
      {agent.isError ? (
        <ErrorCard error={agent.error} />
      ) : agent.data ? (
        <Header agent={agent.data} />
      ) : (
        <Loading />
      )}
      <div className="grid gap-4 lg:grid-cols-2">
        <GroupsCard pcId={pcId} />
        <MetaCard pcId={pcId} />
      </div>
      <PerfCharts pcId={pcId} />
      <EffectiveConfigCard pcId={pcId} />
      <Processes pcId={pcId} />
    </div>
  );
}
