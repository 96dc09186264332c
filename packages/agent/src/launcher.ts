// The `kanade-agent` process: runs the agent and swaps in new versions.
//
// The process the service manager started (the launcher) stays for the
// whole life of the service, so systemd, the Windows SCM or the backend's
// local-agent spawn keep one stable process to signal and wait for. It runs
// its own build's agent in-process until self-update (self-update.ts) hands
// over a verified release; then it stops that agent and starts the release
// as a child process, `node <bundle> <same arguments>`, with an IPC channel.
//
// Boot sentinel: before a version's first start the launcher writes
// `releases/boot.json`; the child reports `healthy` over IPC once its agent
// is connected, subscribed and heartbeating. Healthy within the boot timeout
// -> the sentinel is removed and the release becomes `current.json` (also
// what the launcher starts after a reboot). Exit or silence -> the child is
// killed, the version is quarantined (`quarantine.json`, reported in every
// heartbeat's `quarantined_versions`, never tried again) and the previous
// version runs again: the previous release child, or the in-process build.
// A sentinel found at launcher start means a trial never finished; that
// version is quarantined too.
//
// A child that wants to update sends `update` over IPC, stops its agent and
// exits; the launcher then trials the new version with that child's release
// as the fallback, so the chain is never deeper than launcher + one child. A
// confirmed child that crashes is restarted with backoff (it is not
// quarantined: it ran here before). A child whose launcher goes away
// (disconnect) stops and exits. SIGINT/SIGTERM stop the child (or the
// in-process agent) and end the launcher with 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { type Agent, type AgentOptions, createAgent, defaultStateDir } from './agent.js';
import type { AgentCli } from './cli.js';
import { detectIdentity } from './identity.js';
import { createReleaseState, type ReleaseRef, type ReleaseState } from './release-state.js';
import { AGENT_VERSION } from './version.js';

/** Set in a release child's environment by its launcher. */
export const CHILD_ENV = 'KANADE_AGENT_CHILD';
/** The launcher's own version, passed to a child so it can go back to it without a download. */
export const BUILTIN_ENV = 'KANADE_AGENT_BUILTIN_VERSION';

const STOP_GRACE_MS = 10_000;
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 60_000;

type ChildMessage = { type: 'healthy' } | { type: 'update'; version: string; file: string | null };

export interface LaunchOptions {
  cli: AgentCli;
  /** The launcher's own arguments, given again to each child. */
  argv: readonly string[];
  log(line: string): void;
}

function agentOptions(
  cli: AgentCli,
  log: (line: string) => void,
  state: ReleaseState,
  extra: Pick<AgentOptions, 'selfUpdate'>,
): AgentOptions {
  return {
    natsUrl: cli.natsUrl,
    pcId: cli.pcId,
    stateDir: cli.stateDir,
    heartbeatMs: cli.heartbeatMs,
    hostPerfMs: cli.hostPerfMs,
    log,
    quarantined: () => state.quarantined(),
    ...(cli.selfUpdateEnabled ? extra : {}),
  };
}

/** A release child: the agent in this process, reporting to the launcher over IPC. */
async function runChild(o: LaunchOptions, state: ReleaseState): Promise<void> {
  const send = (m: ChildMessage) =>
    new Promise<void>((resolve) => {
      if (!process.send || !process.connected) return resolve();
      process.send(m, undefined, {}, () => resolve());
    });
  let agent: Agent | undefined;
  let leaving = false;
  const leave = async (code: number, why: string) => {
    if (leaving) return;
    leaving = true;
    o.log(`${why}: stopping`);
    await agent?.stop();
    process.exit(code);
  };
  agent = createAgent(
    agentOptions(o.cli, o.log, state, {
      selfUpdate: {
        quarantined: () => state.quarantined(),
        builtinVersion: process.env[BUILTIN_ENV],
        onReady: (r) => {
          if (leaving) return;
          leaving = true;
          void (async () => {
            o.log(`handing over to ${r.version}`);
            await agent?.stop();
            await send({ type: 'update', version: r.version, file: r.file });
            process.exit(0);
          })();
        },
      },
    }),
  );
  process.on('disconnect', () => void leave(0, 'launcher gone'));
  process.on('SIGINT', () => void leave(0, 'SIGINT'));
  process.on('SIGTERM', () => void leave(0, 'SIGTERM'));
  o.log(`starting as ${agent.identity.pcId} (release ${AGENT_VERSION}); connecting to ${o.cli.natsUrl}`);
  await agent.start();
  if (!leaving) await send({ type: 'healthy' });
}

export async function launch(o: LaunchOptions): Promise<void> {
  const stateDir = o.cli.stateDir ?? defaultStateDir(detectIdentity(o.cli.pcId).pcId);
  const state = createReleaseState(stateDir);
  if (process.env[CHILD_ENV] === '1' && process.send) return runChild(o, state);

  const log = o.log;
  let stopping = false;
  let inproc: Agent | undefined;
  let child: ChildProcess | undefined;
  let restartDelay = RESTART_MIN_MS;

  const sentinel = state.boot();
  if (sentinel) {
    log(`boot sentinel: ${sentinel.version} never confirmed it runs; quarantining it`);
    state.quarantine(sentinel.version);
    state.clearBoot();
  }

  function spawnChild(release: ReleaseRef & { file: string }): ChildProcess {
    return spawn(process.execPath, [release.file, ...o.argv], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [CHILD_ENV]: '1', [BUILTIN_ENV]: AGENT_VERSION },
    });
  }

  async function runInProcess(): Promise<void> {
    const agent = createAgent(
      agentOptions(o.cli, log, state, {
        selfUpdate: {
          quarantined: () => state.quarantined(),
          onReady: (r) => void switchFromInProcess(agent, r),
        },
      }),
    );
    inproc = agent;
    log(`starting as ${agent.identity.pcId}; connecting to ${o.cli.natsUrl}`);
    await agent.start();
  }

  async function switchFromInProcess(agent: Agent, r: ReleaseRef): Promise<void> {
    if (stopping || r.file === null) return;
    log(`updating ${AGENT_VERSION} -> ${r.version}`);
    await agent.stop();
    inproc = undefined;
    await trial({ version: r.version, file: r.file }, undefined);
  }

  /** Start `release` for the first time; keep it if it confirms in time, else quarantine it and go back. */
  async function trial(
    release: ReleaseRef & { file: string },
    previous: (ReleaseRef & { file: string }) | undefined,
  ) {
    if (stopping) return;
    state.setBoot(release);
    const proc = spawnChild(release);
    const outcome = await new Promise<'healthy' | string>((resolve) => {
      const timer = setTimeout(
        () => resolve(`no healthy report within ${o.cli.bootTimeoutMs / 1000}s`),
        o.cli.bootTimeoutMs,
      );
      proc.on('message', (m: ChildMessage) => {
        if (m?.type === 'healthy') {
          clearTimeout(timer);
          resolve('healthy');
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(`exited with ${signal ?? code} before it reported healthy`);
      });
      proc.once('error', (err) => {
        clearTimeout(timer);
        resolve(`could not be started: ${err.message}`);
      });
    });
    if (outcome === 'healthy') {
      state.clearBoot();
      state.setCurrent(release);
      state.prune([release.file, previous?.file]);
      log(`release ${release.version} is running (pid ${proc.pid})`);
      supervise(proc, release);
      return;
    }
    await stopProcess(proc);
    state.quarantine(release.version);
    state.clearBoot();
    state.prune([previous?.file]);
    log(
      `release ${release.version} ${outcome}: quarantined; going back to ${previous?.version ?? AGENT_VERSION}`,
    );
    if (stopping) return;
    if (previous) supervise(spawnChild(previous), previous);
    else {
      state.setCurrent({ version: AGENT_VERSION, file: null });
      await runInProcess();
    }
  }

  function supervise(proc: ChildProcess, release: ReleaseRef & { file: string }) {
    let next: ReleaseRef | undefined;
    child = proc;
    let healthySince = 0;
    proc.on('message', (m: ChildMessage) => {
      if (m?.type === 'update') next = { version: m.version, file: m.file };
      else if (m?.type === 'healthy') healthySince = Date.now();
    });
    proc.once('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (next) {
        const to = next;
        if (to.file === null) {
          log(`going back to the installed build ${AGENT_VERSION}`);
          state.setCurrent(to);
          state.prune([]);
          void runInProcess().catch(fail);
        } else void trial({ version: to.version, file: to.file }, release).catch(fail);
        return;
      }
      // A release that ran for a while before it crashed starts again quickly; a crash loop backs off.
      if (healthySince && Date.now() - healthySince > RESTART_MAX_MS) restartDelay = RESTART_MIN_MS;
      log(`release ${release.version} exited with ${signal ?? code}; restarting in ${restartDelay / 1000}s`);
      setTimeout(() => {
        if (!stopping) supervise(spawnChild(release), release);
      }, restartDelay);
      restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
    });
  }

  async function stopProcess(proc: ChildProcess): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(t);
  }

  function fail(err: Error) {
    log(`cannot start: ${err.message}`);
    process.exit(1);
  }

  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    if (inproc) await inproc.stop();
    if (child) await stopProcess(child);
    // A pending first connect would otherwise keep the process alive.
    process.exit(0);
  }
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const current = state.current();
  const quarantined = state.quarantined();
  if (
    o.cli.selfUpdateEnabled &&
    current &&
    current.version !== AGENT_VERSION &&
    !quarantined.includes(current.version)
  ) {
    log(`starting release ${current.version} (${current.file})`);
    supervise(spawnChild(current), current);
  } else {
    await runInProcess();
  }
}
