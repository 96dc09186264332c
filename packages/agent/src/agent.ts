// createAgent: the agent as a library, so the backend can run one for its own
// host and tests can drive it. One NATS connection carries the telemetry
// loops, the command intake and runner, the outbox sender and the ping /
// job.tail responders.
//
// State that must survive a restart lives under the state directory
// (default `~/.kanade-agent/<pc_id>`; one agent per directory):
// `outbox/` (results and started events not yet acknowledged by JetStream),
// `handled-requests.log` (request_ids already acted on) and `scratch/`
// (script files while they run).
//
// Start order: outbox first (it resends what a previous run left), then the
// group watch; the intake starts only once the groups are known, so a
// replayed group command is judged against the real membership, and start()
// resolves once the live command subscriptions are registered. Stop order
// is the reverse: no new commands, running ones are stopped and their
// results written, then the outbox gets a last chance to send.

import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { type CommandRunner, createCommandRunner } from './commands.js';
import { connectNats } from './connection.js';
import { type GroupWatch, watchGroups } from './groups.js';
import { type HandledSet, openHandledSet } from './handled.js';
import { detectIdentity, type Identity } from './identity.js';
import { type Intake, startIntake } from './intake.js';
import { createLiveTails } from './live-tail.js';
import { createLiveTelemetry, type LiveTelemetry } from './live-telemetry.js';
import { createOutbox, type Outbox } from './outbox.js';
import { releasesDir } from './release-state.js';
import { type Responders, startResponders } from './responders.js';
import { createScriptViewReader } from './script-view.js';
import { type SelfUpdate, type SelfUpdateHooks, startSelfUpdate } from './self-update.js';

export interface AgentOptions {
  natsUrl: string;
  /** Defaults to the sanitized hostname. */
  pcId?: string;
  /** Defaults to `~/.kanade-agent/<pc_id>`. */
  stateDir?: string;
  /** Upstream default 30 s. */
  heartbeatMs?: number;
  /** Upstream default 60 s. */
  hostPerfMs?: number;
  /** Delay of the first host_perf after start (its rates need two samples). */
  warmupMs?: number;
  log?: (line: string) => void;
  /** Self-update (self-update.ts, driven by launcher.ts); off when absent. */
  selfUpdate?: SelfUpdateHooks;
  /** Versions quarantined by self-update, reported in every heartbeat. */
  quarantined?: () => readonly string[];
}

export interface Agent {
  readonly identity: Identity;
  readonly stateDir: string;
  /** Connects (retrying until the broker answers) and starts telemetry and command handling. */
  start(): Promise<void>;
  /** Stops everything, flushes (at most a few seconds) and closes. Safe to call at any time, more than once. */
  stop(): Promise<void>;
}

const FLUSH_TIMEOUT_MS = 2000;
const OUTBOX_LAST_PASS_MS = 2000;
const GROUPS_WAIT_MS = 10_000;

export function defaultStateDir(pcId: string): string {
  return join(os.homedir(), '.kanade-agent', pcId);
}

export function createAgent(opts: AgentOptions): Agent {
  const identity = detectIdentity(opts.pcId);
  const stateDir = opts.stateDir ?? defaultStateDir(identity.pcId);
  const log = opts.log ?? (() => {});
  let state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  const currentState = () => state;
  let nc: NatsConnection | undefined;
  let telemetry: LiveTelemetry | undefined;
  let handled: HandledSet | undefined;
  let outbox: Outbox | undefined;
  let groups: GroupWatch | undefined;
  let runner: CommandRunner | undefined;
  let responders: Responders | undefined;
  let intake: Intake | undefined;
  let updater: SelfUpdate | undefined;

  return {
    identity,
    stateDir,
    async start() {
      if (state !== 'idle') throw new Error(`agent cannot start: it is ${state}`);
      state = 'starting';
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      handled = openHandledSet(stateDir);
      let connected = true;
      const conn = await connectNats(opts.natsUrl, identity.pcId, log, (c) => {
        connected = c;
        if (c) outbox?.kick();
      });
      // stop() may have run while the first connect was pending.
      if (currentState() === 'stopped') {
        handled.close();
        await conn.close();
        return;
      }
      nc = conn;
      state = 'running';
      log(
        `connected to ${opts.natsUrl} as ${identity.pcId} (agent ${identity.agentVersion}, state ${stateDir})`,
      );
      telemetry = createLiveTelemetry({
        nc: conn,
        identity,
        heartbeatMs: opts.heartbeatMs ?? 30_000,
        hostPerfMs: opts.hostPerfMs ?? 60_000,
        warmupMs: opts.warmupMs ?? 1000,
        publish: (subj, body) => conn.publish(subj, body),
        log,
        quarantined: opts.quarantined,
      });
      telemetry.start();

      outbox = createOutbox({ dir: join(stateDir, 'outbox'), nc: conn, connected: () => connected, log });
      const tails = createLiveTails();
      runner = createCommandRunner({
        pcId: identity.pcId,
        nc: conn,
        outbox,
        tails,
        scripts: createScriptViewReader(conn),
        scratchDir: join(stateDir, 'scratch'),
        log,
      });
      responders = startResponders(conn, identity, tails, log);
      const watch = watchGroups(conn, identity.pcId, log, (g) => {
        intake?.setGroups(g);
        telemetry?.setGroups(g);
        updater?.setGroups(g);
      });
      groups = watch;
      let timer: NodeJS.Timeout | undefined;
      const known = await Promise.race([
        watch.ready.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), GROUPS_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (!known) log('group membership not known yet; taking commands with the groups seen so far');
      if (currentState() === 'stopped') return;
      const run = runner;
      intake = startIntake({
        nc: conn,
        pcId: identity.pcId,
        groups: () => watch.current(),
        handled,
        run: (cmd) => void run.run(cmd),
        log,
      });
      await intake.ready;
      if (opts.selfUpdate && currentState() === 'running') {
        updater = startSelfUpdate({
          ...opts.selfUpdate,
          nc: conn,
          pcId: identity.pcId,
          currentVersion: identity.agentVersion,
          dir: releasesDir(stateDir),
          groups: watch.current(),
          log,
        });
      }
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      updater?.stop();
      await intake?.stop();
      await runner?.stop();
      await outbox?.stop(OUTBOX_LAST_PASS_MS);
      responders?.stop();
      groups?.stop();
      telemetry?.stop();
      handled?.close();
      if (!nc) return;
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        nc.flush().catch(() => {}),
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, FLUSH_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timeout);
      await nc.close().catch(() => {});
    },
  };
}
