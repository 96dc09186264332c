// Every stream, KV bucket and object store the backend bootstraps: present or
// missing, messages, and size against its limit.
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { DataTable } from '../components/DataTable.js';
import { Card, Chip, ErrorCard, Loading, PageHeader } from '../components/ui.js';
import { apiJson } from '../lib/api.js';
import { bytes, num } from '../lib/format.js';
import type { JetStreamStatus, JsResource } from '../lib/types.js';

function Usage({ r }: { r: JsResource }) {
  if (r.bytes === undefined) return <>—</>;
  if (!r.max_bytes || r.max_bytes <= 0) return <>{bytes(r.bytes)}</>;
  const share = Math.min(1, r.bytes / r.max_bytes);
  return (
    <div className="flex items-center gap-2">
      <div className="h-1.5 w-24 rounded bg-zinc-200 dark:bg-zinc-800">
        <div
          className={`h-1.5 rounded ${share > 0.9 ? 'bg-red-500' : share > 0.7 ? 'bg-amber-500' : 'bg-teal-500'}`}
          style={{ width: `${share * 100}%` }}
        />
      </div>
      <span className="tabular-nums">
        {bytes(r.bytes)} / {bytes(r.max_bytes)}
      </span>
    </div>
  );
}

export default function JetStream() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ['jetstream', 'status'],
    queryFn: () => apiJson<JetStreamStatus>('/api/jetstream/status'),
    refetchInterval: 30_000,
  });
  const sections = q.data
    ? ([
        ['streams', q.data.streams],
        ['kv', q.data.kv_buckets],
        ['objects', q.data.object_stores],
      ] as const)
    : [];
  return (
    <div className="space-y-4" data-testid="jetstream-page">
      <PageHeader title={t('nav.jetstream')} />
      {q.isError ? <ErrorCard error={q.error} /> : null}
      {!q.data && q.isPending ? <Loading /> : null}
      {sections.map(([id, rows]) => (
        <Card key={id} title={t(`jetstream.${id}`)}>
          <DataTable
            rows={[...rows]}
            rowKey={(r) => r.name}
            columns={[
              {
                id: 'name',
                header: t('jetstream.name'),
                cell: (r) => <span className="font-mono">{r.name}</span>,
              },
              {
                id: 'state',
                header: t('jetstream.state'),
                cell: (r) =>
                  r.exists ? (
                    <Chip tone="ok">{t('jetstream.ok')}</Chip>
                  ) : (
                    <Chip tone="bad">{t('jetstream.missing')}</Chip>
                  ),
              },
              {
                id: 'messages',
                header: t('jetstream.messages'),
                cell: (r) => num(r.messages),
                className: 'text-right tabular-nums',
              },
              { id: 'usage', header: t('jetstream.usage'), cell: (r) => <Usage r={r} /> },
            ]}
          />
        </Card>
      ))}
    </div>
  );
}
