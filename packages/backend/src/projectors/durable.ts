// The one loop behind every durable projector (results, events, audit,
// obs_events, notification acks): a JetStream pull consumer, applied in
// batches, acked after commit.
//
// - Messages are collected as they arrive and applied as one batch per write
//   transaction: when `batchMax` are buffered; as soon as what was delivered
//   has been read (setImmediate) when the consumer has caught up with the
//   stream, so a quiet stream still projects at once; and at most
//   BACKLOG_WAIT_MS after the first buffered message while the stream holds
//   more for this consumer (a backlog after a restart, a fleet-wide burst), so
//   a backlog drains in full batches. Small batches cost more per row: each
//   commit writes every page its rows touched, and random keys (result_id)
//   touch a page per row (bench results: 31k/s at 414 rows a batch, 39k/s at
//   1,765).
// - Every apply is idempotent SQL (each projector documents its key), so a
//   redelivery after a crash or a replay after a wipe never double-counts.
// - Ack after commit. A message that does not decode is counted, logged with
//   its subject and acked with its batch: poison never blocks the stream.
// - Two ways to ack (`ackAll`):
//   - AckPolicy.All, when this backend is the durable's only consumer (SQLite):
//     one ack per batch, for its highest stream sequence, acks everything
//     before it. The broker spends 30-45 % less CPU on a backlog that way
//     (bench results, docs/adr/0008). The rule that keeps it safe: never ack
//     past a message that was delivered and not committed. Batches commit in
//     delivery order, so the batch's own ack is right; a failed transaction
//     acks nothing more in this run: the consumer is restarted. At every
//     (re)start, a durable that holds unacked messages (a crash, a failed
//     batch, a stop between delivery and commit) is recreated from its ack
//     floor, so those come again first instead of being acked away by the
//     next batch. Recreating also converts a durable created with the other
//     policy (upstream's backend, or this one on PostgreSQL).
//   - AckPolicy.Explicit, when replicas share the durable (PostgreSQL): one
//     replica's "all" ack would cover messages another replica has not
//     written. Each message is acked; a failed transaction's batch is nak'ed
//     with a delay and JetStream delivers it again.
// - Batches are applied strictly one after another, in arrival order.
// - Where the transaction runs: on this thread by default, or, given a
//   `writer` (the ingest worker passes one; ingest/writer.ts), on the
//   database writer thread. Then the next batches are received, decoded and
//   handed over here while earlier ones are being written there (up to
//   WRITER_DEPTH in flight), so a backlog drains at the pace of the slower of
//   the two instead of their sum. The writer commits in hand-over order; each
//   batch is acked (or nak'ed) when its own commit answers.
import { digits } from '@kanade/wire';
import {
  AckPolicy,
  type ConsumerInfo,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { ProjectorStats } from './stats.js';
import { invalidLogger, isInvalid } from './telemetry.js';

export interface MessageMeta {
  subject: string;
  /** Stream sequence: a stable idempotency key for append-only projections. */
  seq: number;
  /** JetStream publish time in epoch ms, so a replay reproduces the original times. */
  publishedAt: number;
  redelivered: boolean;
}

export interface DurableProjector<R> {
  name: string;
  stream: string;
  durable: string;
  filterSubject?: string;
  /** The table this projector rebuilds: empty at startup means wiped, and the durable replays (consumer-reset.ts). */
  table: string;
  decode(payload: unknown, meta: MessageMeta): R | { invalid: string };
  /** Optional: load what the first batch needs before consuming starts (e.g. the manifest cache). */
  warm?(ctx: DurableContext): Promise<void>;
  /** Optional async step before the transaction (e.g. fetching large output from an object store). */
  prepare?(rows: R[], ctx: DurableContext): Promise<R[]>;
  /**
   * Write one batch inside a transaction; returns rows written. It may run on the writer thread, with a
   * copy of the rows made through JSON: everything it needs must be plain data on the rows (prepare's
   * findings too).
   */
  apply(store: Store, rows: R[], ctx: ApplyContext): number;
}

export interface DurableContext {
  nc: NatsConnection;
  log: Logger;
  now: number;
}

/** What apply() gets: no broker connection, since the writer thread has none. */
export type ApplyContext = Pick<DurableContext, 'log' | 'now'>;

/** Runs apply() of a named projector in one transaction elsewhere (ingest/writer.ts). */
export interface BatchWriter {
  apply(projector: string, rows: unknown[], now: number): Promise<{ written: number; seconds: number }>;
}

export interface DurableOptions {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  /** One ack per batch (AckPolicy.All): only for a durable this process alone consumes (see the top of this file). */
  ackAll?: boolean;
  batchMax?: number;
  /** Apply batches on the writer thread instead of in this thread's store. */
  writer?: BatchWriter;
  /** Delay before a failed batch is delivered again. */
  retryDelayMs?: number;
}

export interface RunningDurable {
  stats: ProjectorStats;
  stop(): Promise<void>;
}

const decoder = new TextDecoder();

/** deliveryOf() when the message shows its reply subject (JsMsgImpl does, the JsMsg type does not). */
function delivery(m: JsMsg): ReturnType<typeof deliveryOf> {
  const reply = (m as JsMsg & { reply?: unknown }).reply;
  if (typeof reply === 'string' && reply !== '') return deliveryOf(reply);
  return {
    seq: m.seq,
    deliveries: m.info.deliveryCount,
    publishedAt: Math.floor(Number(m.timestampNanos) / 1e6),
    pending: m.info.pending,
  };
}

/** Dot positions of the reply subject being read (deliveryOf runs for one message at a time). */
const dots = new Int32Array(16);

/**
 * The delivery facts in a JetStream message's reply subject, read in one pass:
 * `$JS.ACK[.<domain>.<account>].<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>[.<token>]`.
 * JsMsg's getters split it once for `info` and again (into a BigInt) for `timestampNanos`, which was a
 * tenth of the receiving thread's time in a results backlog; splitting it here once still cost a
 * twentieth, so the numbers are read from the characters in place.
 */
export function deliveryOf(reply: string): {
  seq: number;
  deliveries: number;
  publishedAt: number;
  pending: number;
} {
  let n = 0;
  for (let i = reply.indexOf('.'); i !== -1 && n < dots.length; i = reply.indexOf('.', i + 1)) dots[n++] = i;
  // Tokens: 9 in the old form, 11 or 12 with domain and account.
  const tokens = n + 1;
  if ((tokens !== 9 && tokens !== 11 && tokens !== 12) || !reply.startsWith('$JS.ACK.'))
    throw new Error(`not a JetStream delivery: ${reply}`);
  // Token k runs from dots[k - 1] + 1 to dots[k] (or the end of the subject).
  const o = tokens === 9 ? 4 : 6;
  const end = (k: number) => (k < n ? dots[k]! : reply.length);
  const ns = dots[o + 2]! + 1;
  const nsEnd = end(o + 3);
  return {
    deliveries: digits(reply, dots[o - 1]! + 1, end(o)),
    seq: digits(reply, dots[o]! + 1, end(o + 1)),
    // Milliseconds from the digits, exactly: the nanoseconds do not fit a double.
    publishedAt: nsEnd - ns > 6 ? digits(reply, ns, nsEnd - 6) : 0,
    pending: digits(reply, dots[o + 3]! + 1, end(o + 4)),
  };
}

/** The messages collected for one batch. */
interface Batch<R> {
  /** Every message, decoded or not (a message that did not decode is only acked, with its batch). */
  count: number;
  /** The decoded rows, in delivery order. */
  rows: R[];
  /** AckPolicy.Explicit: every message, each acked (or nak'ed) on its own. */
  msgs: JsMsg[];
  /**
   * AckPolicy.All: the message with the highest stream sequence (`topSeq`), the one ack the batch
   * sends. The others are not kept, so they can die young instead of being carried through the
   * garbage collector's young generation until the batch is handed over.
   */
  top: JsMsg | undefined;
  topSeq: number;
}

const emptyBatch = <R>(): Batch<R> => ({ count: 0, rows: [], msgs: [], top: undefined, topSeq: 0 });

// Unacked messages of a crashed backend come back after ack_wait; 10 s keeps
// that gap short while leaving ample time for one batch transaction.
const ACK_WAIT_NS = 10_000_000_000;
const MAX_ACK_PENDING = 20_000;
const PULL_EXPIRES_MS = 5000;
/**
 * Batches handed to the writer thread and not yet committed. Eight full batches (16,000 messages)
 * stay under MAX_ACK_PENDING, so the broker keeps delivering while the writer is a few batches
 * behind (e.g. during a checkpoint).
 */
const WRITER_DEPTH = 8;
/** Longest a partial batch waits for more while the stream holds more (see the top of this file). */
const BACKLOG_WAIT_MS = 20;

/**
 * The stream sequence up to which a consumer acked everything. The broker reports 0 until its first
 * ack, also for a consumer created to start further on (as ensureConsumer recreates them): then it
 * is the sequence before that start.
 */
function ackFloor(info: ConsumerInfo): number {
  if (info.ack_floor.consumer_seq > 0) return info.ack_floor.stream_seq;
  const c = info.config;
  return c.deliver_policy === DeliverPolicy.StartSequence && c.opt_start_seq ? c.opt_start_seq - 1 : 0;
}

/**
 * Create the durable consumer if it is missing (deliver-all), or recreate it from its ack floor when
 * its ack policy is not the one wanted or, with AckPolicy.All, when it holds unacked messages (see
 * the top of this file); reconcile its limits; return it.
 */
async function ensureConsumer(
  nc: NatsConnection,
  p: DurableProjector<unknown>,
  ackAll: boolean,
  log: Logger,
) {
  const jsm = await jetstreamManager(nc);
  const ackPolicy = ackAll ? AckPolicy.All : AckPolicy.Explicit;
  const config = {
    durable_name: p.durable,
    ack_policy: ackPolicy,
    ...(p.filterSubject ? { filter_subject: p.filterSubject } : {}),
    max_ack_pending: MAX_ACK_PENDING,
    ack_wait: ACK_WAIT_NS,
  };
  let info: Awaited<ReturnType<typeof jsm.consumers.info>> | undefined;
  try {
    info = await jsm.consumers.info(p.stream, p.durable);
  } catch {
    await jsm.consumers.add(p.stream, { ...config, deliver_policy: DeliverPolicy.All });
  }
  if (info && (info.config.ack_policy !== ackPolicy || (ackAll && info.num_ack_pending > 0))) {
    // Everything up to the ack floor is written; everything after it is delivered again (the
    // projectors' writes are idempotent, so what was written already changes nothing).
    const from = ackFloor(info) + 1;
    log.info(
      {
        projector: p.name,
        durable: p.durable,
        ack_policy: ackPolicy,
        was: info.config.ack_policy,
        unacked: info.num_ack_pending,
        from_stream_seq: from,
      },
      'durable consumer recreated from its ack floor',
    );
    await jsm.consumers.delete(p.stream, p.durable).catch(() => undefined);
    await jsm.consumers.add(p.stream, {
      ...config,
      ...(from > 1
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }
        : { deliver_policy: DeliverPolicy.All }),
    });
  } else if (
    info &&
    (info.config.ack_wait !== ACK_WAIT_NS || info.config.max_ack_pending !== MAX_ACK_PENDING)
  ) {
    await jsm.consumers.update(p.stream, p.durable, {
      ack_wait: ACK_WAIT_NS,
      max_ack_pending: MAX_ACK_PENDING,
    });
  }
  return jetstream(nc).consumers.get(p.stream, p.durable);
}

export function startDurableProjector<R>(spec: DurableProjector<R>, opts: DurableOptions): RunningDurable {
  const stats = new ProjectorStats(spec.name);
  const logInvalid = invalidLogger(opts.log, spec.name);
  const batchMax = opts.batchMax ?? 2000;
  const retryDelayMs = opts.retryDelayMs ?? 2000;
  const ackAll = opts.ackAll ?? false;
  let buffer: Batch<R> = emptyBatch();
  /**
   * AckPolicy.All: bumped by a failed batch. Batches of an earlier run ack nothing, and messages still
   * arriving for it are dropped: the restarted consumer delivers them again from the ack floor.
   */
  let run = 0;
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let messages: ConsumerMessages | undefined;
  let stopped = false;

  /** Batches handed to the writer thread and not yet committed (each settles its own acks). */
  const inFlight = new Set<Promise<void>>();
  /** A partial batch is waiting for the writer's commits (see flush). */
  let flushAfterCommit = false;

  async function applyBatch(batch: Batch<R>, batchRun: number) {
    if (batchRun !== run) return;
    const started = performance.now();
    const ctx: DurableContext = { nc: opts.nc, log: opts.log, now: Date.now() };
    const count = batch.count;
    // What the acks need, taken now so that the rest of the batch (messages, rows) can be collected
    // while it is at the writer: with AckPolicy.All only the message with the highest sequence, since
    // everything delivered before it is committed by then (in order, this run).
    const toAck: JsMsg[] = ackAll ? (batch.top ? [batch.top] : []) : batch.msgs;
    const ack = () => {
      if (ackAll && batchRun !== run) return;
      for (const m of toAck) m.ack();
    };
    const done = (written: number, seconds = (performance.now() - started) / 1000) => {
      stats.written(written);
      stats.flushed(seconds);
      ack();
    };
    const failed = (err: unknown) => {
      stats.flushFailed();
      if (!ackAll) {
        for (const m of toAck) m.nak(retryDelayMs);
        opts.log.warn(
          { projector: spec.name, err: (err as Error).message, messages: count },
          'batch failed; nothing acked, JetStream will redeliver',
        );
        return;
      }
      if (batchRun !== run) return;
      // Nothing after this batch may be acked now: restart the consumer, which is recreated from its
      // ack floor (ensureConsumer) after the retry delay.
      run++;
      buffer = emptyBatch();
      opts.log.warn(
        { projector: spec.name, err: (err as Error).message, messages: count },
        'batch failed; nothing acked, the consumer restarts from its ack floor',
      );
      void messages?.close().catch(() => undefined);
    };
    try {
      const decoded = batch.rows;
      if (decoded.length === 0) {
        // Only poison: nothing to write, but with AckPolicy.All its ack must wait for the batches before.
        await Promise.all(inFlight);
        ack();
        return;
      }
      let rows = decoded;
      if (spec.prepare) rows = await spec.prepare(rows, ctx);
      if (!opts.writer) {
        done(opts.store.tx(() => spec.apply(opts.store, rows, ctx)));
        return;
      }
      // Hand over and go on: the writer commits in the order it is handed batches, and the next one
      // is prepared and sent while this one is written. A few batches ahead at most.
      const settled: Promise<void> = opts.writer
        .apply(spec.name, rows, ctx.now)
        .then((r) => done(r.written, r.seconds), failed)
        .finally(() => {
          inFlight.delete(settled);
          if (flushAfterCommit && inFlight.size === 0) flush();
        });
      inFlight.add(settled);
      while (inFlight.size >= WRITER_DEPTH) await Promise.race(inFlight);
    } catch (err) {
      failed(err);
    }
  }

  function flush(force = false) {
    if (immediate) clearImmediate(immediate);
    if (timer) clearTimeout(timer);
    immediate = timer = undefined;
    if (buffer.count === 0) return;
    // With a batch at the writer, a partial one waits for that commit and gathers rows meanwhile, as
    // it would behind a transaction on this thread: a trickle (a fleet's results arriving over
    // seconds) is then written in as few transactions as before, not one per turn of the event loop.
    if (!force && opts.writer && inFlight.size > 0 && buffer.count < batchMax) {
      flushAfterCommit = true;
      return;
    }
    flushAfterCommit = false;
    const batch = buffer;
    const batchRun = run;
    buffer = emptyBatch();
    chain = chain.then(() => applyBatch(batch, batchRun));
  }

  function onMessage(m: JsMsg, consumeRun: number) {
    if (consumeRun !== run) return;
    stats.received();
    const d = delivery(m);
    const meta: MessageMeta = {
      subject: m.subject,
      seq: d.seq,
      publishedAt: d.publishedAt,
      redelivered: d.deliveries > 1,
    };
    let row: R | { invalid: string };
    try {
      row = spec.decode(JSON.parse(decoder.decode(m.data)), meta);
    } catch (err) {
      row = { invalid: err instanceof SyntaxError ? 'not JSON' : (err as Error).message };
    }
    if (isInvalid(row)) {
      stats.invalid();
      logInvalid(m.subject, row.invalid);
    } else {
      buffer.rows.push(row);
    }
    buffer.count++;
    if (!ackAll) buffer.msgs.push(m);
    else if (buffer.top === undefined || d.seq > buffer.topSeq) {
      buffer.top = m;
      buffer.topSeq = d.seq;
    }
    if (buffer.count >= batchMax) flush();
    else if (d.pending === 0) {
      // Caught up: write what was read on the next turn.
      if (!immediate) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        immediate = setImmediate(flush);
      }
    } else if (!timer && !immediate) timer = setTimeout(flush, BACKLOG_WAIT_MS);
  }

  // Supervisor: (re)create the consumer and consume; on any failure retry with backoff.
  const running = (async () => {
    let backoff = 1000;
    while (!stopped) {
      const startedAt = Date.now();
      try {
        const consumer = await ensureConsumer(opts.nc, spec as DurableProjector<unknown>, ackAll, opts.log);
        await spec.warm?.({ nc: opts.nc, log: opts.log, now: Date.now() }).catch(() => undefined);
        if (stopped) break;
        const consumeRun = run;
        messages = await consumer.consume({
          max_messages: batchMax,
          // Pulls expire (and are renewed) every PULL_EXPIRES_MS with idle heartbeats at half that: when a
          // cluster node dies with this consumer's leader on it, the lost pull is noticed by the missed
          // heartbeats within seconds instead of the default 30 s pull's minute.
          expires: PULL_EXPIRES_MS,
          callback: (m) => onMessage(m, consumeRun),
        });
        opts.log.info(
          { projector: spec.name, stream: spec.stream, durable: spec.durable },
          'durable projector started',
        );
        await messages.closed();
        if (stopped) break;
        if (consumeRun !== run) {
          // A failed batch closed it (AckPolicy.All): retry after the batch retry delay, as a nak'ed
          // batch would be, not after a back-off that grows to a minute over a long outage (disk full).
          await new Promise((r) => setTimeout(r, retryDelayMs));
          backoff = 1000;
          continue;
        }
        throw new Error('consumer closed');
      } catch (err) {
        if (stopped) break;
        if (Date.now() - startedAt > 60_000) backoff = 1000;
        opts.log.warn(
          { projector: spec.name, err: (err as Error).message, retry_in_ms: backoff },
          'durable projector restarting',
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
  })();

  return {
    stats,
    async stop() {
      stopped = true;
      try {
        await messages?.close();
      } catch {
        // already closed
      }
      flush(true);
      await chain;
      await Promise.all(inFlight);
      await Promise.race([running, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
