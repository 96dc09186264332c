// Chaos: the disk under the database fills up, and later the file system
// turns read-only. While the database cannot be written, ingestion errors
// are counted in /metrics (flush errors; telemetry windows dropped, lossy by
// design) and surfaced in /api/health/fleet; durable messages stay unacked
// in JetStream and are projected, exactly once, once space returns or the
// file system is writable again. The data directory is a small tmpfs mounted
// for the test, so this needs root (CAP_SYS_ADMIN); without it the test is
// skipped and says so.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startBackend, type TestBackend } from '../../../../test-support/backend.js';
import { startNats, type TestNats } from '../../../../test-support/nats-server.js';
import { assertAlive, count, metrics, projectorMetric, report, scale, unacked } from './support.js';

const N = scale(300, 3_000, 'KANADE_CHAOS_DISK_COUNT');
const dir = mkdtempSync(join(tmpdir(), 'kanade-disk-'));
// Room for the baseline, the two rounds of messages and their WAL copies, and little else.
const SIZE_MB = 32 + Math.ceil((N * 24) / 1024);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MB}m`, 'tmpfs', dir]).status === 0;

let nats: TestNats;
let nc: NatsConnection;
let be: TestBackend;

beforeAll(async () => {
  if (!mounted) return;
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  be = await startBackend({ natsUrl: nats.url, dataDir: dir });
});
afterAll(async () => {
  await be?.kill();
  await nc?.close();
  await nats?.stop();
  if (mounted) spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** Fill the file system with one file, leaving nothing; returns its path. */
function fill(): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch {
    // ENOSPC: full. Top up the last partial megabyte.
    const small = Buffer.alloc(4096, 1);
    try {
      for (;;) writeSync(fd, small);
    } catch {
      // full to the last page
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

let seq = 0;
/** `n` results, audit and obs events (stdout padded so the WAL has to grow), and heartbeats. */
async function publish(tag: string, n: number) {
  const js = jetstream(nc);
  const at = new Date().toISOString();
  const pad = 'x'.repeat(4 * 1024);
  let window: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++, seq++) {
    window.push(
      js.publish(
        `results.d-${tag}-${i}`,
        JSON.stringify({
          result_id: `d-${tag}-${i}`,
          request_id: `d-${tag}-${i}`,
          pc_id: 'd-pc',
          exit_code: 0,
          stdout: pad,
          stderr: '',
          started_at: at,
          finished_at: at,
        }),
      ),
      js.publish(
        `audit.chaos.disk.${tag}`,
        JSON.stringify({
          actor: 'chaos',
          action: `disk-${tag}`,
          target: `${i}`,
          payload: { pad },
          occurred_at: at,
        }),
      ),
      js.publish(
        'obs.d-pc',
        JSON.stringify({
          pc_id: 'd-pc',
          at,
          kind: 'chaos',
          source: `disk-${tag}`,
          event_record_id: `${tag}-${i}`,
        }),
      ),
    );
    nc.publish(`heartbeat.d-hb-${seq}`, JSON.stringify({ pc_id: `d-hb-${seq}`, at, agent_version: '1' }));
    if (window.length >= 300) {
      await Promise.all(window);
      window = [];
    }
  }
  await Promise.all(window);
}

const stored = (tag: string) => ({
  results: count(dir, 'SELECT COUNT(*) FROM execution_results WHERE result_id LIKE ?', `d-${tag}-%`),
  audit: count(dir, 'SELECT COUNT(*) FROM audit_log WHERE action = ?', `disk-${tag}`),
  obs: count(dir, 'SELECT COUNT(*) FROM obs_events WHERE source = ?', `disk-${tag}`),
});

async function flushErrors(): Promise<number> {
  const m = await metrics(be);
  return ['results', 'audit', 'obs_events'].reduce((n, p) => n + projectorMetric(m, 'flush_errors', p), 0);
}

async function health(): Promise<{ status: string; reasons: string[] }> {
  return (await be.fetch('/api/health/fleet')).json() as Promise<{ status: string; reasons: string[] }>;
}

/** One outage: break the disk, publish, see it counted and held, repair, see everything projected once. */
async function outage(tag: string, breakDisk: () => () => void) {
  const errorsBefore = await flushErrors();
  const repair = breakDisk();
  await publish(tag, N);
  const during = await eventually(
    async () => {
      const e = await flushErrors();
      const h = await health();
      const held = await unacked(nc);
      return e > errorsBefore && h.status === 'degraded' && held > 0 ? { e, h, held } : undefined;
    },
    60_000,
    `${tag}: errors counted, health degraded, messages held`,
  );
  const m = await metrics(be);
  const dropped = projectorMetric(m, 'dropped', 'heartbeat');
  const heldRows = stored(tag);
  repair();
  const repairedAt = Date.now();
  await eventually(
    async () => {
      const s = stored(tag);
      return s.results === N && s.audit === N && s.obs === N;
    },
    60_000 + N * 50,
    `${tag}: everything projected after the repair`,
  );
  const recoverMs = Date.now() - repairedAt;
  await eventually(async () => (await unacked(nc)) === 0, 30_000, `${tag}: every message acked`);
  expect(stored(tag)).toEqual({ results: N, audit: N, obs: N });
  assertAlive(be);
  report(`disk ${tag}`, {
    messages: 3 * N,
    tmpfs_mb: SIZE_MB,
    flush_errors: during.e - errorsBefore,
    health: during.h.status,
    reasons: during.h.reasons,
    unacked_while_broken: during.held,
    rows_while_broken: heldRows,
    heartbeat_windows_dropped_rows: dropped,
    recovered_ms: recoverMs,
  });
}

describe.skipIf(!mounted)('disk full and read-only database', () => {
  it('counts and surfaces write errors, holds durable messages, and projects them once the disk recovers', async () => {
    await publish('base', 20);
    await eventually(async () => stored('base').obs === 20, 20_000, 'baseline projected');

    await outage('full', () => {
      const filler = fill();
      return () => rmSync(filler);
    });
    // A file system cannot be remounted read-only under open files, so the backend restarts onto a
    // read-only one (as after the kernel turned it read-only and the service manager restarted it):
    // it refuses to start, saying why, and the streams hold everything until it can.
    await be.stop();
    expect(spawnSync('mount', ['-o', 'remount,ro', dir]).status).toBe(0);
    const refused = await startBackend({ natsUrl: nats.url, dataDir: dir }).then(
      () => 'started',
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/cannot open the database .*read-only or full/);
    await publish('readonly', N);
    const held = await unacked(nc);
    expect(held).toBeGreaterThanOrEqual(3 * N);
    expect(spawnSync('mount', ['-o', 'remount,rw', dir]).status).toBe(0);
    be = await startBackend({ natsUrl: nats.url, dataDir: dir });
    const t = Date.now();
    await eventually(
      async () => {
        const r = stored('readonly');
        return r.results === N && r.audit === N && r.obs === N;
      },
      60_000 + N * 50,
      'read-only: everything projected after the remount',
    );
    const recoverMs = Date.now() - t;
    await eventually(async () => (await unacked(nc)) === 0, 30_000, 'read-only: every message acked');
    expect(stored('readonly')).toEqual({ results: N, audit: N, obs: N });
    assertAlive(be);
    report('disk readonly', {
      messages: 3 * N,
      start_refused_with: /cannot open the database[^"]*/.exec(refused)?.[0],
      unacked_while_read_only: held,
      recovered_ms: recoverMs,
    });
  }, 600_000);
});

if (!mounted) report('disk full', { skipped: 'cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)' });
