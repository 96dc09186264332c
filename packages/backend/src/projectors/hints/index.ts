// The manifest hints the results projector applies after a batch of results
// is written (upstream's results projector steps 3-4): `inventory:` for
// successful runs, `check:` for every run that executed the script. Split in
// two so the transaction stays short: prepareHints() (async, before the
// transaction) looks the manifests up in the projector's manifest cache and
// parses the inventory JSON; applyHints() (inside the batch transaction)
// writes. A hint that cannot be applied (stdout not JSON, a bad explode
// spec) is logged and skipped; it never fails the batch, as upstream acks
// such results. Finalize children (parent_result_id set) carry finalize
// output, not the job's payload, and are left out.
import type { Store } from '../../store/index.js';
import type { ResultRow } from '../../store/results.js';
import type { ApplyContext, DurableContext } from '../durable.js';
import { manifestCacheFor, type StoredManifest } from '../manifest-cache.js';
import { applyCheck, type CheckHint, checkApplies } from './check.js';
import { fencedPayload } from './fence.js';
import { applyInventory, type InventoryHint } from './inventory.js';

interface Prepared {
  check?: CheckHint;
  inventory?: { hint: InventoryHint; facts: unknown; payload: string };
}

/**
 * What prepareHints() found travels on the row itself (plain data), because the batch may be
 * applied on the database writer thread (ingest/writer.ts), which receives a copy of the rows.
 */
interface HintedRow extends ResultRow {
  hints?: Prepared;
}

function hasHints(m: StoredManifest | undefined): m is StoredManifest {
  return Boolean(m && (m.inventory || m.check?.fleet));
}

/** Look up manifests and parse payloads for the rows that carry hints (before the transaction). */
export async function prepareHints(rows: readonly ResultRow[], ctx: DurableContext): Promise<void> {
  const ids = new Set<string>();
  for (const r of rows) if (r.job_id && r.parent_result_id === null) ids.add(r.job_id);
  if (ids.size === 0) return;
  const cache = manifestCacheFor(ctx.nc, ctx.log);
  const manifests = new Map<string, StoredManifest>();
  for (const id of ids) {
    const m = await cache.get(id);
    if (hasHints(m)) manifests.set(id, m);
  }
  for (const r of rows) {
    const m = r.job_id && r.parent_result_id === null ? manifests.get(r.job_id) : undefined;
    if (!m) continue;
    const p: Prepared = {};
    if (m.check?.fleet && checkApplies(r)) p.check = m.check;
    if (m.inventory && r.exit_code === 0 && r.skipped !== 1) {
      const payload = fencedPayload(r.stdout, 'INVENTORY');
      try {
        p.inventory = { hint: m.inventory as InventoryHint, facts: JSON.parse(payload), payload };
      } catch {
        ctx.log.warn(
          { job_id: r.job_id, pc_id: r.pc_id, result_id: r.result_id },
          'inventory job stdout is not JSON',
        );
      }
    }
    if (p.check || p.inventory) (r as HintedRow).hints = p;
  }
}

/** Apply the prepared hints of a batch (inside the batch transaction, after the results are written). */
export function applyHints(store: Store, rows: readonly ResultRow[], ctx: ApplyContext): void {
  const ensured = new Map<string, string>();
  for (const r of rows) {
    const p = (r as HintedRow).hints;
    if (!p || !r.job_id) continue;
    if (p.inventory) {
      applyInventory(
        store,
        p.inventory.hint,
        { ...r, job_id: r.job_id },
        p.inventory.facts,
        p.inventory.payload,
        {
          log: ctx.log,
          now: ctx.now,
          ensured,
        },
      );
    }
    if (p.check) applyCheck(store, p.check, r);
  }
}
