// One PC's inventory: a card per probe that reported facts for it, each
// with three tabs. Now: the manifest's display fields (nested arrays as
// tables with their own columns). History: the change diff between
// consecutive runs (added / removed / changed, filterable by kind, since
// 24h / 7d / 30d / 90d / all), so installed software gets a timeline of
// appearance, version changes and removal. JSON: the facts as stored.
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { DataTable } from '../../components/DataTable.js';
import { Payload } from '../../components/Payload.js';
import { Card, Chip, Empty, ErrorCard, Loading, Segmented, type Tone } from '../../components/ui.js';
import { apiJson, qs } from '../../lib/api.js';
import { type FactFormatters, factAt, formatFact } from '../../lib/facts.js';
import { ago, bytes, dateTime, num } from '../../lib/format.js';
import type { ChangeKind, DisplayField, InventoryChange, InventoryPcFacts } from '../../lib/types.js';

const SINCE = { '24h': 1, '7d': 7, '30d': 30, '90d': 90, all: 0 } as const;
type Since = keyof typeof SINCE;
const KIND_TONE: Record<ChangeKind, Tone> = { added: 'ok', removed: 'bad', changed: 'warn' };

export function useFactFormatters(): FactFormatters {
  const { t, i18n } = useTranslation();
  // biome-ignore lint/correctness/useExhaustiveDependencies: number and date formats follow the language
  return useMemo(
    () => ({
      bytes: (n) => bytes(n),
      number: (n) => num(n),
      date: (s) => dateTime(s),
      yes: t('common.yes'),
      no: t('common.no'),
    }),
    [t, i18n.language],
  );
}

function Nested({ rows, columns }: { rows: unknown[]; columns: DisplayField[] }) {
  const fmt = useFactFormatters();
  const { t } = useTranslation();
  if (rows.length === 0) return <span className="muted">{t('inventory.rows', { n: 0 })}</span>;
  return (
    <div className="max-h-96 overflow-auto rounded border border-zinc-200 dark:border-zinc-800">
      <DataTable
        rows={rows.map((r, i) => ({ i, r }))}
        rowKey={(x) => String(x.i)}
        columns={columns.map((c) => ({
          id: c.field,
          header: c.label,
          cell: (x: { i: number; r: unknown }) => formatFact(factAt(x.r, c.field), c.type, fmt),
        }))}
      />
    </div>
  );
}

function Now({ facts, display }: { facts: unknown; display: DisplayField[] }) {
  const fmt = useFactFormatters();
  if (display.length === 0) return <Payload value={facts} />;
  const scalars = display.filter((d) => !Array.isArray(factAt(facts, d.field)));
  const arrays = display.filter((d) => Array.isArray(factAt(facts, d.field)));
  return (
    <div className="space-y-4">
      {scalars.length ? (
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-4">
          {scalars.map((d) => (
            <div key={d.field}>
              <dt className="muted text-xs">{d.label}</dt>
              <dd className="text-sm break-words">{formatFact(factAt(facts, d.field), d.type, fmt)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {arrays.map((d) => {
        const rows = factAt(facts, d.field) as unknown[];
        const columns = d.columns?.length
          ? d.columns
          : [...new Set(rows.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : [])))].map(
              (k) => ({
                field: k,
                label: k,
              }),
            );
        return (
          <div key={d.field}>
            <div className="muted mb-1 text-xs">
              {d.label} · {num(rows.length)}
            </div>
            <Nested rows={rows} columns={columns} />
          </div>
        );
      })}
    </div>
  );
}

/** `{"name":"Chrome"}` -> `name=Chrome`. */
function identityText(json: string | null): string {
  if (!json) return '';
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    return Object.entries(v)
      .map(([k, x]) => `${k}=${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join(', ');
  } catch {
    return json;
  }
}

function parsed(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}

function History({ pcId, jobId }: { pcId: string; jobId: string }) {
  const { t } = useTranslation();
  const [since, setSince] = useState<Since>('30d');
  const [kind, setKind] = useState<ChangeKind | 'all'>('all');
  const history = useQuery({
    queryKey: ['inventory', 'history', jobId, pcId, since],
    queryFn: () =>
      apiJson<InventoryChange[]>(
        `/api/inventory/${encodeURIComponent(jobId)}/history/pc/${encodeURIComponent(pcId)}${qs({
          since: SINCE[since] ? new Date(Date.now() - SINCE[since] * 86_400_000).toISOString() : undefined,
          limit: 5000,
        })}`,
      ),
  });
  const rows = (history.data ?? []).filter((r) => kind === 'all' || r.change_kind === kind);
  return (
    <div className="space-y-3" data-testid="inventory-history">
      <div className="flex flex-wrap gap-2">
        <Segmented<Since>
          label={t('activity.since')}
          value={since}
          onChange={setSince}
          options={(Object.keys(SINCE) as Since[]).map((s) => ({
            value: s,
            label: t(`inventory.since.${s}`),
          }))}
        />
        <Segmented<ChangeKind | 'all'>
          label={t('inventory.kind')}
          value={kind}
          onChange={setKind}
          options={(['all', 'added', 'removed', 'changed'] as const).map((k) => ({
            value: k,
            label: t(`inventory.kinds.${k}`),
          }))}
        />
      </div>
      {history.isError ? (
        <ErrorCard error={history.error} />
      ) : !history.data ? (
        <Loading />
      ) : rows.length === 0 ? (
        <Empty>{t('inventory.noChanges')}</Empty>
      ) : (
        <DataTable
          rows={rows}
          rowKey={(r) => String(r.id)}
          columns={[
            {
              id: 'at',
              header: t('inventory.observed'),
              cell: (r) => <span title={dateTime(r.observed_at)}>{ago(r.observed_at)}</span>,
            },
            {
              id: 'kind',
              header: t('inventory.kind'),
              cell: (r) => (
                <Chip tone={KIND_TONE[r.change_kind]}>{t(`inventory.kinds.${r.change_kind}`)}</Chip>
              ),
            },
            {
              id: 'field',
              header: t('inventory.field'),
              cell: (r) => <span className="font-mono">{r.field_path}</span>,
            },
            {
              id: 'identity',
              header: t('inventory.item'),
              cell: (r) => <span className="font-mono">{identityText(r.identity_json)}</span>,
            },
            {
              id: 'before',
              header: t('inventory.before'),
              cell: (r) => <Payload value={parsed(r.before_json)} />,
            },
            {
              id: 'after',
              header: t('inventory.after'),
              cell: (r) => <Payload value={parsed(r.after_json)} />,
            },
          ]}
        />
      )}
    </div>
  );
}

type Tab = 'now' | 'history' | 'json';

function ProbeCard({ pcId, facts }: { pcId: string; facts: InventoryPcFacts }) {
  const { t } = useTranslation();
  const [tab, setTab] = useState<Tab>('now');
  return (
    <Card
      testId={`facts-${facts.job_id}`}
      title={<span className="font-mono normal-case">{facts.job_id}</span>}
      actions={
        <div className="flex items-center gap-3">
          <span className="muted text-xs" title={dateTime(facts.collected_at ?? facts.recorded_at)}>
            {t('inventory.collectedAgo', { ago: ago(facts.collected_at ?? facts.recorded_at) })}
          </span>
          <Segmented<Tab>
            label={t('inventory.view')}
            value={tab}
            onChange={setTab}
            options={(['now', 'history', 'json'] as const).map((v) => ({
              value: v,
              label: t(`inventory.tabs.${v}`),
            }))}
          />
        </div>
      }
    >
      {tab === 'now' ? (
        <Now facts={facts.facts} display={facts.display ?? []} />
      ) : tab === 'history' ? (
        <History pcId={pcId} jobId={facts.job_id} />
      ) : (
        <pre
          className="max-h-[32rem] overflow-auto rounded bg-zinc-100 p-3 text-xs dark:bg-zinc-950"
          data-testid="facts-json"
        >
          {JSON.stringify(facts.facts, null, 2)}
        </pre>
      )}
    </Card>
  );
}

export function PcFacts({
  pcId,
  focus,
  onBack,
}: {
  pcId: string;
  focus: string | undefined;
  onBack(): void;
}) {
  const { t } = useTranslation();
  const facts = useQuery({
    queryKey: ['inventory', 'pc', pcId],
    queryFn: () => apiJson<InventoryPcFacts[]>(`/api/inventory/${encodeURIComponent(pcId)}`),
  });
  // The probe the operator came from first, then the rest by id.
  const cards = [...(facts.data ?? [])].sort((a, b) =>
    a.job_id === focus ? -1 : b.job_id === focus ? 1 : a.job_id.localeCompare(b.job_id),
  );
  return (
    <div className="space-y-4" data-testid="pc-facts">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="font-mono text-lg font-semibold">{pcId}</h2>
        <span className="flex gap-3 text-sm">
          <Link className="link" to={`/agents/${encodeURIComponent(pcId)}`}>
            {t('inventory.agentPage')}
          </Link>
          <button type="button" className="link" onClick={onBack}>
            {t('inventory.back')}
          </button>
        </span>
      </div>
      {facts.isError ? (
        <ErrorCard error={facts.error} />
      ) : !facts.data ? (
        <Loading />
      ) : cards.length === 0 ? (
        <Empty>{t('inventory.noFactsPc')}</Empty>
      ) : (
        cards.map((f) => <ProbeCard key={f.job_id} pcId={pcId} facts={f} />)
      )}
    </div>
  );
}
