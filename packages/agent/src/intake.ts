// How this PC's commands reach it: two paths into one handler, as upstream.
//
// - Live: core subscriptions on `commands.all`, `commands.pc.{pc_id}` and
//   `commands.group.{g}` for each current group (re-subscribed as the groups
//   change). They see every command published while the agent is online.
//   The durable alone does not: EXEC keeps one message per subject, so a
//   second command on the same subject can replace the first before the
//   consumer hands it out (two runs for one PC in quick succession lose one).
// - Replay: the durable pull consumer `agent_replay_{pc_id}` (upstream's
//   name) on EXEC, so a command published while the agent was offline runs
//   when it comes back. nats-server 2.9 allows one filter_subject per
//   consumer, so it covers `commands.>` and the agent keeps what is addressed
//   to it and acks the rest unread. That is upstream's shape before #483, and
//   its cost is upstream's reason to leave it: every agent receives every
//   command of the fleet, so per-PC fan-out costs N messages per agent. A
//   2.10 broker could narrow it server-side with filter_subjects; this agent
//   does not depend on that, and a durable created by another agent build
//   with narrower filters is used as it is. DeliverPolicy LastPerSubject, as
//   upstream: a new durable starts from the newest command of every subject
//   (7 days), and the deadline check and the dedup decide what still runs.
//
// Both paths meet in `accept`: decode (malformed is logged and dropped),
// address check, dedup (handled.ts: the request_id is recorded on disk
// first), then the run starts without blocking the next message. A command
// usually arrives on both paths; the second copy is "already handled". On
// the replay path the ack follows the record; a command whose id cannot be
// recorded is nak'ed and comes back rather than risk running twice. The
// consumer is recreated with backoff whenever consuming stops (broker
// restart, durable or stream deleted).

import { agentReplayDurable, Command, isValidToken, STREAM, subject } from '@kanade/wire';
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { isForMe } from './groups.js';
import type { HandledSet } from './handled.js';

const COMMANDS_FILTER = 'commands.>';
const NAK_DELAY_MS = 5000;

export interface IntakeOptions {
  nc: NatsConnection;
  pcId: string;
  groups(): readonly string[];
  handled: HandledSet;
  run(cmd: Command): void;
  log(line: string): void;
}

export interface Intake {
  /** Follows a group membership change with the live subscriptions. */
  setGroups(groups: readonly string[]): void;
  /** Resolves once the live subscriptions are registered with the server. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

async function replayConsumer(nc: NatsConnection, pcId: string) {
  const jsm = await jetstreamManager(nc);
  const durable = agentReplayDurable(pcId);
  try {
    await jsm.consumers.info(STREAM.EXEC, durable);
  } catch {
    await jsm.consumers.add(STREAM.EXEC, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.LastPerSubject,
      filter_subject: COMMANDS_FILTER,
    });
  }
  return jetstream(nc).consumers.get(STREAM.EXEC, durable);
}

const NOT_MINE = 'not addressed to this PC';
const ALREADY = 'already handled';

/** The command to run, or why the message is not run. The body is decoded only when addressed here. */
export function triage(
  subj: string,
  payload: () => unknown,
  pcId: string,
  groups: readonly string[],
  handled: Pick<HandledSet, 'has'>,
): { cmd: Command } | { ignore: string } {
  if (!isForMe(subj, pcId, groups)) return { ignore: NOT_MINE };
  let body: unknown;
  try {
    body = payload();
  } catch {
    return { ignore: 'not JSON' };
  }
  const parsed = Command.safeParse(body);
  if (!parsed.success) return { ignore: `not a Command: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const cmd = parsed.data;
  if (!isValidToken(cmd.request_id))
    return { ignore: `request_id ${JSON.stringify(cmd.request_id)} is not a subject token` };
  if (handled.has(cmd.request_id)) return { ignore: ALREADY };
  return { cmd };
}

export function startIntake(o: IntakeOptions): Intake {
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let wakeSleep: (() => void) | undefined;

  /** False when the command could not be recorded (and so must not run yet). */
  const accept = (subj: string, payload: () => unknown, via: string): boolean => {
    const t = triage(subj, payload, o.pcId, o.groups(), o.handled);
    if ('ignore' in t) {
      if (t.ignore !== NOT_MINE && t.ignore !== ALREADY) o.log(`${subj} (${via}): ${t.ignore}`);
      return true;
    }
    try {
      o.handled.add(t.cmd.request_id);
    } catch (err) {
      o.log(`cannot record request ${t.cmd.request_id} (${(err as Error).message}); not running it now`);
      return false;
    }
    o.log(`command ${t.cmd.id} ${t.cmd.version} (${t.cmd.request_id}) from ${subj} (${via})`);
    o.run(t.cmd);
    return true;
  };

  const onMessage = (m: JsMsg) => {
    if (accept(m.subject, () => m.json(), `replay seq ${m.seq}`)) m.ack();
    else m.nak(NAK_DELAY_MS);
  };

  const live = new Map<string, Subscription>();
  const setGroups = (groups: readonly string[]) => {
    if (stopped) return;
    const want = new Set([subject.commandsAll(), subject.commandsPc(o.pcId)]);
    for (const g of groups) {
      if (isValidToken(g)) want.add(subject.commandsGroup(g));
      else o.log(`group ${JSON.stringify(g)} is not a subject token; its commands cannot reach this PC`);
    }
    for (const [subj, sub] of live) {
      if (!want.has(subj)) {
        sub.unsubscribe();
        live.delete(subj);
      }
    }
    for (const subj of want) {
      if (live.has(subj)) continue;
      live.set(
        subj,
        o.nc.subscribe(subj, { callback: (_e, m) => void accept(m.subject, () => m.json(), 'live') }),
      );
    }
  };
  setGroups(o.groups());
  const ready = o.nc.flush().catch(() => {});

  const running = (async () => {
    let backoff = 1000;
    while (!stopped) {
      const startedAt = Date.now();
      try {
        const consumer = await replayConsumer(o.nc, o.pcId);
        if (stopped) break;
        messages = await consumer.consume({
          max_messages: 64,
          abort_on_missing_resource: true,
          callback: onMessage,
        });
        await messages.closed();
        if (stopped) break;
        throw new Error('consumer stopped');
      } catch (err) {
        if (stopped) break;
        if (Date.now() - startedAt > 60_000) backoff = 1000;
        o.log(`command intake: ${(err as Error).message}; retrying in ${backoff / 1000}s`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          wakeSleep = () => {
            clearTimeout(t);
            r();
          };
        });
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  })();

  return {
    setGroups,
    ready,
    async stop() {
      stopped = true;
      for (const sub of live.values()) sub.unsubscribe();
      live.clear();
      wakeSleep?.();
      try {
        await messages?.close();
      } catch {
        // already closed
      }
      await Promise.race([running, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
