// The agent watchdog on a real nats-server and the test store, with a clock the
// test moves: stale agents get agent_offline at their last heartbeat,
// recovered ones agent_online, a recovery and relapse inside one interval
// gets both, repeated sweeps add nothing, and a restarted watchdog says
// nothing about agents it never saw report. The events travel the real path
// (js.publish to obs.{pc_id} -> OBS_EVENTS -> the obs_events projector).
// decide() / applyOutcomes() are also pinned directly, including the rule
// that a host with a failed publish is retried as a whole.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, removeDir } from '../../../test-support/backend.js';
import { createStoreDb } from '../../../test-support/db.js';
import { startNats, type TestNats } from '../../../test-support/nats-server.js';
import { createLogger } from '../src/log.js';
import { bootstrapJetStream } from '../src/nats/bootstrap.js';
import { type RunningDurable, startDurableProjector } from '../src/projectors/durable.js';
import { obsEventsProjector } from '../src/projectors/obs-events.js';
import { createStore, type Store } from '../src/store/index.js';
import {
  applyOutcomes,
  decide,
  startWatchdog,
  WATCHDOG_SOURCE,
  type WatchdogAction,
} from '../src/sweeper/watchdog.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 4, 1, 12);

describe('decide / applyOutcomes', () => {
  const open = (entries: [string, number][] = []) => new Map(entries);

  it('ignores agents last seen before the watch started and fresh agents', () => {
    expect(decide([{ pc_id: 'a', last_heartbeat: T0 - 1 }], T0, open(), T0 + 10 * MIN)).toEqual([]);
    expect(decide([{ pc_id: 'a', last_heartbeat: T0 + MIN }], T0, open(), T0 + 2 * MIN)).toEqual([]);
  });

  it('opens an outage at the last beat, once', () => {
    const agents = [{ pc_id: 'a', last_heartbeat: T0 + 1000 }];
    expect(decide(agents, T0, open(), T0 + 5 * MIN)).toEqual([
      { kind: 'agent_offline', pcId: 'a', at: T0 + 1000 },
    ]);
    expect(decide(agents, T0, open([['a', T0 + 1000]]), T0 + 9 * MIN)).toEqual([]);
  });

  it('closes it on a fresh beat, and records both edges of a relapse inside one interval', () => {
    const o = open([['a', T0]]);
    expect(decide([{ pc_id: 'a', last_heartbeat: T0 + 5 * MIN }], T0, o, T0 + 5 * MIN + 1)).toEqual([
      { kind: 'agent_online', pcId: 'a', at: T0 + 5 * MIN, since: T0 },
    ]);
    expect(decide([{ pc_id: 'a', last_heartbeat: T0 + 5 * MIN }], T0, o, T0 + 9 * MIN)).toEqual([
      { kind: 'agent_online', pcId: 'a', at: T0 + 5 * MIN, since: T0 },
      { kind: 'agent_offline', pcId: 'a', at: T0 + 5 * MIN },
    ]);
  });

  it('leaves a host untouched when any of its publishes failed', () => {
    const o = open([['a', T0]]);
    const pair: WatchdogAction[] = [
      { kind: 'agent_online', pcId: 'a', at: T0 + 5 * MIN, since: T0 },
      { kind: 'agent_offline', pcId: 'a', at: T0 + 5 * MIN },
    ];
    expect(
      applyOutcomes(o, [
        [pair[0]!, false],
        [pair[1]!, true],
      ]),
    ).toEqual({ offline: 0, online: 0, failed: 1 });
    expect(o.get('a')).toBe(T0);
    expect(
      applyOutcomes(o, [
        [pair[0]!, true],
        [pair[1]!, true],
      ]),
    ).toEqual({ offline: 1, online: 1, failed: 0 });
    expect(o.get('a')).toBe(T0 + 5 * MIN);
  });
});

describe('watchdog on a broker', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let store: Store;
  let projector: RunningDurable;
  const log = createLogger('silent');

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await bootstrapJetStream(nc);
    dir = mkdtempSync(join(tmpdir(), 'kanade-watchdog-'));
    store = createStore(await createStoreDb(dir));
    projector = startDurableProjector(obsEventsProjector, { nc, store, log });
  });
  afterAll(async () => {
    await projector?.stop();
    store?.db.close();
    await nc?.close();
    await nats?.stop();
    if (dir) removeDir(dir);
  });

  const beat = (pcId: string, at: number) =>
    store.tx(() =>
      store.agents.upsertHeartbeats(
        [
          {
            pc_id: pcId,
            last_heartbeat: at,
            agent_version: '1',
            hostname: pcId,
            os_family: null,
            agent_cpu_pct: null,
            agent_rss_bytes: null,
            agent_disk_read_bytes: null,
            agent_disk_written_bytes: null,
            quarantined_versions: null,
            last_logon_user: null,
            last_logon_display_name: null,
            command_keys: null,
            enforcing: null,
            command_protocols: null,
          },
        ],
        at,
      ),
    );
  const events = (pcId: string) =>
    store.obsEvents
      .list({ pc_id: pcId, limit: 100 })
      .map((e) => `${e.kind}@${(Date.parse(e.at) - T0) / 1000} ${e.event_record_id}`)
      .reverse();

  it('records offline / online transitions and no false outage after a restart', async () => {
    let now = T0;
    beat('before-start', T0 - 5 * MIN);
    const wd = startWatchdog({ store, nc, log, intervalMs: 3_600_000, now: () => now });

    beat('pc-b', T0 + 1000);
    now = T0 + 1000 + 2 * MIN + 1;
    expect(await wd.sweep()).toEqual({ offline: 1, online: 0, failed: 0 });
    expect(await wd.sweep()).toEqual({ offline: 0, online: 0, failed: 0 });

    beat('pc-b', T0 + 4 * MIN);
    now = T0 + 4 * MIN + 1000;
    expect(await wd.sweep()).toEqual({ offline: 0, online: 1, failed: 0 });

    // Dies, comes back and dies again between two sweeps.
    beat('pc-b', T0 + 6 * MIN);
    now = T0 + 9 * MIN;
    await wd.sweep();
    beat('pc-b', T0 + 10 * MIN);
    now = T0 + 13 * MIN;
    expect(await wd.sweep()).toEqual({ offline: 1, online: 1, failed: 0 });

    await eventually(async () => events('pc-b').length === 5, 10_000, 'watchdog events');
    // Oldest first; the relapse's recovery is recorded before its new outage.
    expect(events('pc-b')).toEqual([
      `agent_offline@1 agent_offline:${T0 + 1000}`,
      `agent_online@240 agent_online:${T0 + 1000}`,
      `agent_offline@360 agent_offline:${T0 + 6 * MIN}`,
      `agent_online@600 agent_online:${T0 + 6 * MIN}`,
      `agent_offline@600 agent_offline:${T0 + 10 * MIN}`,
    ]);
    const e = store.obsEvents.list({ pc_id: 'pc-b', kind: 'agent_offline', limit: 1 })[0]!;
    expect(e.source).toBe(WATCHDOG_SOURCE);
    expect(e.payload).toEqual({ last_heartbeat: new Date(T0 + 10 * MIN).toISOString(), threshold_secs: 120 });
    expect(events('before-start')).toEqual([]);
    await wd.stop();

    // A restarted backend has not watched anyone yet: every stale agent is left alone.
    const restarted = startWatchdog({ store, nc, log, intervalMs: 3_600_000, now: () => now });
    now = T0 + 60 * MIN;
    expect(await restarted.sweep()).toEqual({ offline: 0, online: 0, failed: 0 });
    await restarted.stop();
  });
});
