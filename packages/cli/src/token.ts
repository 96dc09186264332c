// Where the CLI's credentials come from, in this order: --token,
// KANADE_AUTH_TOKEN, then the file `kanade login` wrote
// (`$XDG_CONFIG_HOME/kanade/token`, default `~/.config/kanade/token`; the
// directory is 0700 and the file 0600, as it is a bearer credential).
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';

export function tokenFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || os.homedir(), '.config');
  return join(base, 'kanade', 'token');
}

export function readToken(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const t = readFileSync(tokenFile(env), 'utf8').trim();
    return t.length > 0 ? t : undefined;
  } catch {
    return undefined;
  }
}

export function saveToken(env: NodeJS.ProcessEnv, token: string): string {
  const file = tokenFile(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function removeToken(env: NodeJS.ProcessEnv): boolean {
  const file = tokenFile(env);
  try {
    readFileSync(file);
  } catch {
    return false;
  }
  rmSync(file, { force: true });
  return true;
}
