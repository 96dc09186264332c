// The `inventory:` hint: a successful run's JSON facts become
// inventory_facts, a change history, and the rows of the hint's explode
// tables (upstream's results projector step 3).
//
// - Recency guard: a result older (by recorded_at, the JetStream publish
//   time) than the stored facts changes nothing, not even history, so a
//   replayed or out-of-order result never writes a reversed diff. An equal
//   time re-applies, which is a no-op for history (nothing differs).
// - History: `history_scalars` fields are compared with the previous facts
//   (added on first sight, changed on a new value, never removed), and the
//   elements of an explode array with `track_history` are matched by the
//   spec's primary key (added / removed / changed). Values are compared as
//   they are stored, so a number reported as text does not read as a change
//   on every scan.
// - Explode: the PC's rows are replaced (delete then insert) in the same
//   transaction. A missing or non-array field counts as empty, so what
//   disappeared is recorded as removed. Elements with a null key, and
//   repeats of a key, are skipped (the first wins). Each spec runs in its own
//   savepoint: a bad spec is logged and skipped, the facts and the other
//   specs still land.
import type { Logger } from 'pino';
import { columnValue, type ExplodeSpec, sqlType } from '../../store/explode.js';
import type { Store } from '../../store/index.js';
import type { HistoryEvent } from '../../store/inventory.js';
import type { ResultRow } from '../../store/results.js';

export interface InventoryHint {
  display: unknown[];
  summary?: unknown[] | null | undefined;
  explode?: ExplodeSpec[] | null | undefined;
  history_scalars?: string[] | null | undefined;
}

type Stored = string | number | null;

const keyOf = (values: readonly Stored[], pkIdx: readonly number[]) =>
  JSON.stringify(pkIdx.map((i) => values[i]));

function identityOf(spec: ExplodeSpec, values: readonly Stored[], pkIdx: readonly number[]): string {
  const obj: Record<string, Stored> = {};
  spec.primary_key.forEach((k, j) => {
    obj[k] = values[pkIdx[j]!] ?? null;
  });
  return JSON.stringify(obj);
}

/** Scalar history: added on first sight, changed on a different value (compared as JSON). */
export function diffScalars(prior: unknown, next: unknown, fields: readonly string[]): HistoryEvent[] {
  const get = (o: unknown, f: string) =>
    typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[f] : undefined;
  const events: HistoryEvent[] = [];
  for (const f of fields) {
    const after = get(next, f);
    if (after === undefined) continue;
    const before = get(prior, f);
    if (before === undefined) {
      events.push({
        field_path: f,
        change_kind: 'added',
        identity_json: null,
        before_json: null,
        after_json: JSON.stringify({ value: after }),
      });
    } else if (JSON.stringify(before) !== JSON.stringify(after)) {
      events.push({
        field_path: f,
        change_kind: 'changed',
        identity_json: null,
        before_json: JSON.stringify({ value: before }),
        after_json: JSON.stringify({ value: after }),
      });
    }
  }
  return events;
}

/** The rows an explode spec takes from the facts: stored values aligned to spec.columns, keys unique and non-null. */
export function explodeRows(spec: ExplodeSpec, facts: unknown): { values: Stored[][]; elements: unknown[] } {
  const arr =
    typeof facts === 'object' && facts !== null && !Array.isArray(facts)
      ? (facts as Record<string, unknown>)[spec.field]
      : undefined;
  const pkIdx = spec.primary_key.map((k) => spec.columns.findIndex((c) => c.field === k));
  const seen = new Set<string>();
  const values: Stored[][] = [];
  const elements: unknown[] = [];
  if (!Array.isArray(arr)) return { values, elements };
  for (const el of arr) {
    if (typeof el !== 'object' || el === null || Array.isArray(el)) continue;
    const e = el as Record<string, unknown>;
    const row = spec.columns.map((c) => columnValue(sqlType(c.type)!, e[c.field]));
    if (pkIdx.some((i) => row[i] === null)) continue;
    const key = keyOf(row, pkIdx);
    if (seen.has(key)) continue;
    seen.add(key);
    values.push(row);
    elements.push(el);
  }
  return { values, elements };
}

/** Element history of one spec: new rows vs the PC's stored rows, matched by primary key. */
export function diffExplode(
  spec: ExplodeSpec,
  prior: readonly Record<string, Stored>[],
  next: { values: Stored[][]; elements: unknown[] },
): HistoryEvent[] {
  const pkIdx = spec.primary_key.map((k) => spec.columns.findIndex((c) => c.field === k));
  const priorByKey = new Map<string, { values: Stored[]; obj: Record<string, Stored> }>();
  for (const p of prior) {
    const values = spec.columns.map((c) => p[c.field] ?? null);
    priorByKey.set(keyOf(values, pkIdx), { values, obj: p });
  }
  const events: HistoryEvent[] = [];
  const seen = new Set<string>();
  next.values.forEach((values, i) => {
    const key = keyOf(values, pkIdx);
    seen.add(key);
    const before = priorByKey.get(key);
    const after = JSON.stringify(next.elements[i]);
    if (!before) {
      events.push({
        field_path: spec.field,
        change_kind: 'added',
        identity_json: identityOf(spec, values, pkIdx),
        before_json: null,
        after_json: after,
      });
    } else if (before.values.some((v, j) => v !== values[j])) {
      events.push({
        field_path: spec.field,
        change_kind: 'changed',
        identity_json: identityOf(spec, values, pkIdx),
        before_json: JSON.stringify(before.obj),
        after_json: after,
      });
    }
  });
  for (const [key, p] of priorByKey) {
    if (seen.has(key)) continue;
    events.push({
      field_path: spec.field,
      change_kind: 'removed',
      identity_json: identityOf(spec, p.values, pkIdx),
      before_json: JSON.stringify(p.obj),
      after_json: null,
    });
  }
  return events;
}

export interface InventoryContext {
  log: Logger;
  now: number;
  /** Tables already ensured in this batch's transaction (table -> spec signature). */
  ensured: Map<string, string>;
}

/**
 * Project one successful result of an inventory job (caller owns the transaction).
 * `facts` is the parsed payload and `payload` its text. Returns false for a stale result.
 */
export function applyInventory(
  store: Store,
  hint: InventoryHint,
  r: ResultRow & { job_id: string },
  facts: unknown,
  payload: string,
  ctx: InventoryContext,
): boolean {
  const prior = store.inventory.prior(r.pc_id, r.job_id);
  if (prior && prior.recorded_at > r.recorded_at) return false;
  store.inventory.upsertFacts({
    pc_id: r.pc_id,
    job_id: r.job_id,
    facts_json: payload,
    display_json: JSON.stringify(hint.display),
    summary_json: hint.summary ? JSON.stringify(hint.summary) : null,
    collected_at: r.finished_at,
    recorded_at: r.recorded_at,
  });
  if (hint.history_scalars?.length) {
    let priorFacts: unknown;
    try {
      priorFacts = prior ? JSON.parse(prior.facts_json) : undefined;
    } catch {
      priorFacts = undefined;
    }
    store.inventory.insertHistory(
      r.pc_id,
      r.job_id,
      r.recorded_at,
      diffScalars(priorFacts, facts, hint.history_scalars),
    );
  }
  for (const spec of hint.explode ?? []) {
    try {
      store.tx(() => {
        const signature = JSON.stringify(spec);
        if (ctx.ensured.get(spec.table) !== signature) {
          store.explode.ensure(spec, r.job_id, ctx.now);
          ctx.ensured.set(spec.table, signature);
        }
        const next = explodeRows(spec, facts);
        if (next.values.length === 0 && store.explode.count(spec, r.pc_id, r.job_id) === 0) return;
        if (spec.track_history) {
          const events = diffExplode(spec, store.explode.rows(spec, r.pc_id, r.job_id), next);
          store.inventory.insertHistory(r.pc_id, r.job_id, r.recorded_at, events);
        }
        store.explode.replace(spec, r.pc_id, r.job_id, r.finished_at, next.values);
      });
    } catch (err) {
      ctx.ensured.delete(spec.table);
      ctx.log.warn(
        { job_id: r.job_id, pc_id: r.pc_id, table: spec.table, err: (err as Error).message },
        'explode spec skipped for this result',
      );
    }
  }
  return true;
}
