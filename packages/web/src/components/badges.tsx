// Status badges with the reserved meanings spelled out: an exit code an
// agent synthesised (revoked, stale, killed ...) says so instead of showing
// a bare number.
import { useTranslation } from 'react-i18next';
import type { ExecutionStatus } from '../lib/types.js';
import { EXIT_CODE } from '../lib/wire-constants.js';
import { Chip } from './ui.js';

const RESERVED = new Map<number, string>(Object.entries(EXIT_CODE).map(([name, code]) => [code, name]));

export function ExitCodeBadge({
  exitCode,
  skipped,
  running,
}: {
  exitCode: number | null;
  skipped?: boolean;
  running?: boolean;
}) {
  const { t } = useTranslation();
  if (running || exitCode === null) return <Chip tone="info">{t('activity.running')}</Chip>;
  const reserved = RESERVED.get(exitCode);
  const label = reserved ? `${exitCode} · ${t(`exitCode.${reserved}`)}` : String(exitCode);
  if (skipped) return <Chip tone="neutral">{label}</Chip>;
  return (
    <Chip tone={exitCode === 0 ? 'ok' : 'bad'}>
      {exitCode === 0 ? `0 · ${t('activity.success')}` : label}
    </Chip>
  );
}

export function ExecutionStatusChip({ status }: { status: ExecutionStatus }) {
  const { t } = useTranslation();
  const tone =
    status === 'running' ? 'info' : status === 'completed' ? 'ok' : status === 'expired' ? 'warn' : 'neutral';
  return <Chip tone={tone}>{t(`activity.status.${status}`)}</Chip>;
}
