// The thread behind the synchronous PostgreSQL bridge (bridge.ts): it owns
// one pg.Client, runs each request's statements in order on it and answers on
// the request's MessagePort, then wakes the blocked caller through the shared
// Int32Array (the synckit pattern). It is inline CommonJS source run with
// `eval: true`, like the /api/query sandbox, so the esbuild bundle needs no
// extra entry point; it requires `pg` by the path bridge.ts resolved.
//
// Type parsing matches what better-sqlite3 returns: int8 and numeric become
// JS numbers (epoch ms and COUNT(*) fit in 2^53), booleans become 1/0 (SQLite
// has no boolean: `x IS NOT NULL` is an integer there). Rows travel as arrays
// with the column names once, which clones faster than one object per row.
//
// A lost connection (the client's error/end event, or a statement failing
// with a connection error) is replaced in the background with backoff (100 ms
// doubling to 5 s); each connection gets a new `epoch`, and its prepared
// statements are made again on first use (they are per connection). Until it
// is back every request fails at once with `unavailable`. A request that
// continues a transaction names the epoch its BEGIN ran on; on another
// connection it fails instead of running outside that transaction (the server
// rolled the transaction back when the old connection died).
export const BRIDGE_WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const pg = require(workerData.driver);
const { port, state, url } = workerData;
const flag = new Int32Array(state);
const parsers = { 20: Number, 1700: Number, 16: (v) => (v === 't' ? 1 : 0) };
const types = { getTypeParser: (oid, format) => parsers[oid] ?? pg.types.getTypeParser(oid, format) };

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
/** The connected client, or null while (re)connecting. */
let client = null;
/** Why there is no client (the last connection or connect error). */
let down = new Error('not connected yet');
let epoch = workerData.epochBase;
let retryMs = FIRST_RETRY_MS;
let timer = null;
let closing = false;

// Statement text -> name of its server-side prepared statement on this connection. Parsing and
// planning an upsert costs more than running it; a prepared one is planned once (then generically).
const prepared = new Map();
const readNames = new Map();
const MAX_PREPARED = 2000;

function connect() {
  timer = null;
  const c = new pg.Client({ connectionString: url, types, keepAlive: true, connectionTimeoutMillis: 5000 });
  c.on('error', (err) => lost(c, err));
  c.on('end', () => lost(c, new Error('the connection was closed')));
  return c.connect().then(
    () => {
      if (closing) return c.end().catch(() => {});
      client = c;
      epoch++;
      retryMs = FIRST_RETRY_MS;
      prepared.clear();
      readNames.clear();
    },
    (err) => {
      down = err;
      c.end().catch(() => {});
      retry();
    },
  );
}

function lost(c, err) {
  if (c !== client) return;
  client = null;
  down = err;
  c.end().catch(() => {});
  retry();
}

function retry() {
  if (closing || timer) return;
  timer = setTimeout(connect, retryMs);
  retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
}

const ready = connect();

/** A statement's error that means the connection is gone (not an answer about the statement). */
async function connectionFailed(c, err) {
  const code = err && typeof err.code === 'string' ? err.code : '';
  // Class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect now).
  if (/^(08|57P0)/.test(code)) return true;
  if (err && err.severity) return false;
  // A socket error reaches the pending query before the client's error event: let the events run.
  await new Promise((r) => setImmediate(r));
  return c !== client || /^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH)/.test(code);
}

function reasonOf(err) {
  if (!err) return 'unknown error';
  // A host with several addresses fails with an AggregateError whose own message is empty.
  if (!err.message && Array.isArray(err.errors)) return err.errors.map(reasonOf).join('; ');
  return String(err.message || err.code || err);
}

// A dying thread (an uncaught error, termination) wakes a blocked caller instead of leaving it waiting.
process.on('exit', () => {
  Atomics.store(flag, 0, 2);
  Atomics.notify(flag, 0);
});

function answer(msg) {
  port.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function failure(err, index) {
  return {
    ok: false,
    index,
    error: { message: String((err && err.message) || err), code: err && err.code, detail: err && err.detail },
  };
}

function unavailable(reason, index) {
  return { ok: false, index, unavailable: true, error: { message: 'PostgreSQL unavailable: ' + reason } };
}

// A run of consecutive writes goes to the server as ONE simple-protocol query: "EXECUTE name(args)"
// per statement joined by ';', the arguments inlined as quoted literals (which PostgreSQL coerces to
// the prepared parameter types exactly like untyped parameters): one round trip instead of one per
// statement. Reads keep the extended protocol with real parameters, as named statements (parsed once).
function literal(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (ArrayBuffer.isView(v)) return "'\\\\x" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') + "'";
  // PostgreSQL text cannot hold NUL (SQLite can): drop it rather than fail the whole batch of valid rows.
  const s = withoutNul(typeof v === 'object' ? JSON.stringify(v) : String(v));
  return "'" + s.replace(/'/g, "''") + "'";
}

function withoutNul(s) {
  return s.indexOf('\u0000') === -1 ? s : s.split('\u0000').join('');
}

// Parameters of the extended protocol (reads, and writes that return rows): the same NUL rule.
function params(values) {
  if (!values) return values;
  return values.map((v) => (typeof v === 'string' ? withoutNul(v) : v));
}

async function prepare(c, text) {
  let name = prepared.get(text);
  if (name === undefined) {
    if (prepared.size >= MAX_PREPARED) {
      // Only ours: DEALLOCATE ALL would also drop pg's named read statements, which it believes parsed.
      await c.query([...prepared.values()].map((n) => 'DEALLOCATE ' + n).join(';'));
      prepared.clear();
    }
    name = 'kanade_w' + (prepared.size + 1);
    await c.query('PREPARE ' + name + ' AS ' + text);
    prepared.set(text, name);
  }
  return name;
}

async function statementOf(c, op) {
  if (!op.values || op.values.length === 0) return op.text;
  return 'EXECUTE ' + (await prepare(c, op.text)) + '(' + op.values.map(literal).join(', ') + ')';
}

async function runWrites(c, ops, from, to, results) {
  if (to - from === 1 && !(ops[from].values && ops[from].values.length)) {
    const r = await c.query(ops[from].text);
    results.push({ changes: Array.isArray(r) ? 0 : (r.rowCount ?? 0) });
    return;
  }
  const parts = [];
  for (let i = from; i < to; i++) parts.push(await statementOf(c, ops[i]));
  const text = parts.join(';\\n');
  const r = await c.query(text);
  const list = Array.isArray(r) ? r : [r];
  for (let i = from; i < to; i++) results.push({ changes: list[i - from]?.rowCount ?? 0 });
}

port.on('message', async (req) => {
  if (req.close) {
    closing = true;
    clearTimeout(timer);
    const c = client;
    client = null;
    if (c) await c.end().catch(() => {});
    answer({ ok: true, results: [] });
    port.close();
    return;
  }
  await ready;
  const c = client;
  if (!c) {
    answer(unavailable(reasonOf(down), 0));
    return;
  }
  if (req.epoch != null && req.epoch !== epoch) {
    answer(unavailable('the connection was lost during this transaction, which the server rolled back', 0));
    return;
  }
  const results = [];
  const ops = req.ops;
  for (let i = 0; i < ops.length; ) {
    try {
      if (ops[i].rows) {
        const op = ops[i];
        let name = readNames.get(op.text);
        if (name === undefined && readNames.size < MAX_PREPARED) {
          name = 'kanade_r' + (readNames.size + 1);
          readNames.set(op.text, name);
        }
        const r = await c.query({ name, text: op.text, values: params(op.values), rowMode: 'array' });
        results.push({ rows: r.rows, columns: r.fields.map((f) => f.name), changes: r.rowCount ?? 0 });
        i++;
      } else {
        let j = i;
        while (j < ops.length && !ops[j].rows) j++;
        await runWrites(c, ops, i, j, results);
        i = j;
      }
    } catch (err) {
      if (await connectionFailed(c, err)) {
        lost(c, err);
        answer(unavailable(reasonOf(err), results.length));
      } else answer(failure(err, results.length));
      return;
    }
  }
  answer({ ok: true, results, epoch });
});
`;
