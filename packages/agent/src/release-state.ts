// What self-update keeps under `<state-dir>/releases/`, so it survives the
// restarts it causes:
//
//   <version>.mjs    downloaded release bundles (digest-checked before use);
//                    only the running one and its fallback are kept
//   current.json     {version, file}: the release the launcher runs; absent =
//                    the agent's own (installed) build
//   boot.json        {version, file, started_at}: the boot sentinel, written
//                    just before a new version is started for the first time
//                    and removed once it confirmed it runs (or failed). One
//                    found at launcher start means a trial never finished (the
//                    launcher died meanwhile): that version is quarantined.
//   quarantine.json  ["0.3.0", ...]: versions that failed to start here; they
//                    are never tried again and every heartbeat reports them
//
// Every write goes to a temporary file first and is renamed into place, so a
// crash never leaves half a JSON document.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReleaseRef {
  version: string;
  /** The bundle to run; null = the agent's own build (no download). */
  file: string | null;
}

export interface BootSentinel {
  version: string;
  file: string;
  started_at: string;
}

export const releasesDir = (stateDir: string): string => join(stateDir, 'releases');

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function createReleaseState(stateDir: string) {
  const dir = releasesDir(stateDir);
  const paths = {
    current: join(dir, 'current.json'),
    boot: join(dir, 'boot.json'),
    quarantine: join(dir, 'quarantine.json'),
  };

  function quarantined(): string[] {
    const v = readJson(paths.quarantine);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  return {
    dir,
    quarantined,

    quarantine(version: string): string[] {
      const list = quarantined();
      if (!list.includes(version)) list.push(version);
      writeJson(paths.quarantine, list);
      return list;
    },

    /** The confirmed release to run, when its bundle is still there. */
    current(): (ReleaseRef & { file: string }) | undefined {
      const v = readJson(paths.current) as { version?: unknown; file?: unknown } | undefined;
      if (typeof v?.version !== 'string' || typeof v.file !== 'string' || !existsSync(v.file))
        return undefined;
      return { version: v.version, file: v.file };
    },

    setCurrent(r: ReleaseRef): void {
      if (r.file === null) rmSync(paths.current, { force: true });
      else writeJson(paths.current, { version: r.version, file: r.file });
    },

    boot(): BootSentinel | undefined {
      const v = readJson(paths.boot) as Partial<BootSentinel> | undefined;
      return typeof v?.version === 'string' && typeof v.file === 'string'
        ? { version: v.version, file: v.file, started_at: String(v.started_at ?? '') }
        : undefined;
    },

    setBoot(r: { version: string; file: string }): void {
      writeJson(paths.boot, { ...r, started_at: new Date().toISOString() });
    },

    clearBoot(): void {
      rmSync(paths.boot, { force: true });
    },

    /** Delete downloaded bundles other than `keep` (the running release and its fallback). */
    prune(keep: readonly (string | null | undefined)[]): void {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        const file = join(dir, name);
        if (name.endsWith('.mjs') && !keep.includes(file)) rmSync(file, { force: true });
      }
    },
  };
}
export type ReleaseState = ReturnType<typeof createReleaseState>;
