// A real nats-server with JetStream for one test file: random client and
// monitoring ports (read back from the ports file), a temp store, and a stop
// function that must be registered as cleanup before the first assertion.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestNats {
  url: string;
  monitorUrl: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Restart on the same port and store (for outage tests). */
  restart(): Promise<void>;
  /** Stop without cleaning up the store. */
  kill(): Promise<void>;
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function launch(dir: string, port: number | -1): { proc: ChildProcess; portsDir: string } {
  const portsDir = join(dir, `ports-${Date.now()}`);
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      'listen: "127.0.0.1:' + port + '"',
      'http: "127.0.0.1:-1"',
      `ports_file_dir: "${portsDir}"`,
      'max_payload: 8MB',
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
    ].join('\n'),
  );
  mkdirSync(portsDir, { recursive: true });
  const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.resume();
  return { proc, portsDir };
}

export async function startNats(): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'kanade-nats-'));
  let state = launch(dir, -1);
  const readPorts = async (portsDir: string, pid: number) =>
    waitFor('nats-server ports file', () => {
      try {
        const file = readdirSync(portsDir).find((f) => f.includes(String(pid)));
        if (!file) return undefined;
        const ports = JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as {
          nats: string[];
          monitoring: string[];
        };
        return ports.nats?.length && ports.monitoring?.length ? ports : undefined;
      } catch {
        return undefined;
      }
    });
  const ports = await readPorts(state.portsDir, state.proc.pid!);
  const url = ports.nats[0]!;
  const port = Number(new URL(url).port);
  const t: TestNats = {
    url,
    monitorUrl: ports.monitoring[0]!,
    port,
    dir,
    proc: state.proc,
    async kill() {
      const p = state.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGKILL');
      });
    },
    async restart() {
      await t.kill();
      state = launch(dir, port);
      t.proc = state.proc;
      await readPorts(state.portsDir, state.proc.pid!);
    },
    async stop() {
      await t.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
