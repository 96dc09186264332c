// The `check:` hint: a job's result becomes one compliance row per PC, as
// upstream's `check_eval` derives it (the agent's Health tab uses the same
// rules there). A clean run reads `status_field` / `detail_field` from the
// JSON object in the check's block of stdout; output that is not such an
// object, or a status other than ok/warn/fail/unknown, degrades to
// `unknown` with a detail saying why. A run that exited non-zero is
// `unknown` with the exit code and the start of stderr, so a crashing check
// never keeps showing a stale `ok`. Results that never ran the script
// (skipped, unsupported OS, signature refused) carry no evidence and are
// ignored. `fleet: false` keeps a check out of the fleet view.
import { EXIT_CODE } from '@kanade/wire';
import type { CheckRow, CheckStatus } from '../../store/checks.js';
import type { Store } from '../../store/index.js';
import type { ResultRow } from '../../store/results.js';
import { fencedPayload } from './fence.js';

export interface CheckHint {
  name: string;
  label?: string | null | undefined;
  status_field: string;
  detail_field: string;
  fleet: boolean;
}

const STATUSES: ReadonlySet<string> = new Set(['ok', 'warn', 'fail', 'unknown']);
const NOT_RUN: ReadonlySet<number> = new Set([EXIT_CODE.UNSUPPORTED_OS, EXIT_CODE.SIGNATURE_REFUSED]);
const MAX_DETAIL = 1000;

/** A detail value as one line of text (null and '' mean none; structures as compact JSON). */
function detailText(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_DETAIL ? `${s.slice(0, MAX_DETAIL)}…` : s;
}

/** Status and detail of one run. */
export function evaluateCheck(
  hint: CheckHint,
  r: Pick<ResultRow, 'exit_code' | 'stdout' | 'stderr'>,
): { status: CheckStatus; detail: string | null } {
  if (r.exit_code !== 0) {
    const snippet = r.stderr.trim().slice(0, 200);
    return {
      status: 'unknown',
      detail: snippet
        ? `check script exited ${r.exit_code}: ${snippet}`
        : `check script exited ${r.exit_code}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(fencedPayload(r.stdout, 'CHECK'));
  } catch (err) {
    return { status: 'unknown', detail: `check stdout was not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { status: 'unknown', detail: 'check stdout was not a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  if (!(hint.status_field in obj))
    return { status: 'unknown', detail: `stdout has no \`${hint.status_field}\` field` };
  const status = obj[hint.status_field];
  if (typeof status !== 'string' || !STATUSES.has(status)) {
    return {
      status: 'unknown',
      detail: `\`${hint.status_field}\` = ${JSON.stringify(status)} is not one of ok/warn/fail/unknown`,
    };
  }
  return { status: status as CheckStatus, detail: detailText(obj[hint.detail_field]) };
}

/** Whether a result says anything about the check (the script ran). */
export function checkApplies(r: Pick<ResultRow, 'skipped' | 'exit_code'>): boolean {
  return r.skipped !== 1 && !NOT_RUN.has(r.exit_code);
}

/** Upsert the check row of one result (caller owns the transaction); false for an older result. */
export function applyCheck(store: Store, hint: CheckHint, r: ResultRow): boolean {
  const { status, detail } = evaluateCheck(hint, r);
  const row: CheckRow = {
    pc_id: r.pc_id,
    check_name: hint.name,
    label: hint.label ?? null,
    status,
    detail,
    recorded_at: r.recorded_at,
  };
  return store.checks.upsert(row).applied;
}
