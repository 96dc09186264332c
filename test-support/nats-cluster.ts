// A real 3-node (by default) nats-server cluster with JetStream for one test
// file: every node on free loopback ports (client, cluster routes,
// monitoring) with its own server_name and store dir, routes to every peer,
// one cluster name. Ready once every node's /jsz names the same meta leader,
// so streams with replicas > 1 can be created at once. Nodes can be killed
// (SIGKILL, store kept) and started again on the same ports and store; stop()
// stops every node and removes the directory, also after a failed start.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

export interface ClusterNode {
  name: string;
  url: string;
  monitorUrl: string;
  /** SIGKILL, keeping the store (a crash). */
  kill(): Promise<void>;
  /** Start again on the same ports and store; resolves once it is back in the cluster. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM), keeping the store. */
  stop(): Promise<void>;
  running(): boolean;
}

export interface TestNatsCluster {
  urls: string[];
  /** Every node's client URL, comma separated (what KANADE_NATS_URL takes). */
  url: string;
  nodes: ClusterNode[];
  dir: string;
  /** The current JetStream meta leader's server name, as a running node reports it. */
  metaLeader(): Promise<string | undefined>;
  stop(): Promise<void>;
}

const CLUSTER_NAME = 'kanade-test';

interface Jsz {
  server_name?: string;
  meta_cluster?: { leader?: string; cluster_size?: number };
}

async function jsz(monitorUrl: string): Promise<Jsz | undefined> {
  try {
    const r = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) });
    return r.ok ? ((await r.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;

export async function startNatsCluster(n = 3): Promise<TestNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-natscluster-'));
  const specs: { name: string; client: number; route: number; monitor: number; dir: string }[] = [];
  const taken = new Set<number>();
  const port = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (let i = 1; i <= n; i++) {
    const name = `n${i}`;
    specs.push({
      name,
      client: await port(),
      route: await port(),
      monitor: await port(),
      dir: join(dir, name),
    });
  }
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.route}`);
  for (const s of specs) {
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(
      join(s.dir, 'nats.conf'),
      [
        `server_name: "${s.name}"`,
        `listen: "127.0.0.1:${s.client}"`,
        `http: "127.0.0.1:${s.monitor}"`,
        'max_payload: 8MB',
        `jetstream { store_dir: "${join(s.dir, 'js')}" }`,
        'cluster {',
        `  name: "${CLUSTER_NAME}"`,
        `  listen: "127.0.0.1:${s.route}"`,
        `  routes: [${routes.map((r) => `"${r}"`).join(', ')}]`,
        '}',
        '',
      ].join('\n'),
    );
  }

  const procs = new Map<string, ChildProcess>();
  const launch = (s: (typeof specs)[number]) => {
    const proc = spawn('nats-server', ['-c', join(s.dir, 'nats.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.resume();
    procs.set(s.name, proc);
  };
  const signal = async (name: string, sig: NodeJS.Signals) => {
    const p = procs.get(name);
    if (!p || exited(p)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
      p.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      p.kill(sig);
    });
  };

  /** Every running node's /jsz names a meta leader that is itself running, and the cluster has n peers. */
  const ready = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = specs.filter((s) => !exited(procs.get(s.name)!));
      const views = await Promise.all(running.map((s) => jsz(`http://127.0.0.1:${s.monitor}`)));
      const leaders = new Set(views.map((v) => v?.meta_cluster?.leader));
      const [leader] = leaders;
      if (
        views.every((v) => v?.meta_cluster?.cluster_size === n) &&
        leaders.size === 1 &&
        leader &&
        running.some((s) => s.name === leader)
      )
        return;
      if (Date.now() > deadline)
        throw new Error(`nats cluster: no meta leader after ${timeoutMs} ms (${JSON.stringify(views)})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await Promise.all(specs.map((s) => signal(s.name, 'SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    for (const s of specs) launch(s);
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }

  const urls = specs.map((s) => `nats://127.0.0.1:${s.client}`);
  return {
    urls,
    url: urls.join(','),
    dir,
    nodes: specs.map((s, i) => ({
      name: s.name,
      url: urls[i]!,
      monitorUrl: `http://127.0.0.1:${s.monitor}`,
      kill: () => signal(s.name, 'SIGKILL'),
      stop: () => signal(s.name, 'SIGTERM'),
      running: () => !exited(procs.get(s.name)!),
      async start() {
        if (!exited(procs.get(s.name)!)) return;
        launch(s);
        await ready();
      },
    })),
    async metaLeader() {
      for (const s of specs) {
        if (exited(procs.get(s.name)!)) continue;
        const v = await jsz(`http://127.0.0.1:${s.monitor}`);
        if (v?.meta_cluster?.leader) return v.meta_cluster.leader;
      }
      return undefined;
    },
    stop,
  };
}
