// Who this agent says it is. The pc_id defaults to the hostname made into one
// valid NATS subject token (lowercase; `.`, whitespace, `*` and `>` become
// `-`), so `Build-01.corp.example` reports as `build-01-corp-example`. Upstream
// uses the Windows computer name, which never contains those characters.

import os from 'node:os';
import { isValidToken } from '@kanade/wire';
import { AGENT_VERSION } from './version.js';

export type OsFamily = 'windows' | 'linux' | 'macos';

export interface Identity {
  pcId: string;
  hostname: string;
  osFamily: OsFamily | null;
  agentVersion: string;
}

export function pcIdFromHostname(hostname: string): string {
  const id = hostname
    .toLowerCase()
    .replace(/[.\s*>]/g, '-')
    .slice(0, 256);
  return id.length > 0 ? id : 'localhost';
}

export function osFamilyOf(platform: NodeJS.Platform): OsFamily | null {
  switch (platform) {
    case 'win32':
      return 'windows';
    case 'darwin':
      return 'macos';
    case 'linux':
    case 'android':
      return 'linux';
    default:
      return null;
  }
}

/**
 * Upstream reports the interactive user of the console session; the closest
 * cheap stand-in is the user the agent runs as, from the environment.
 */
export function lastLogonUser(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string | null {
  const user = platform === 'win32' ? env.USERNAME : (env.USER ?? env.LOGNAME);
  return user && user.length > 0 ? user : null;
}

/** Throws when an explicit pc_id would not be one subject token. */
export function detectIdentity(pcId?: string): Identity {
  const hostname = os.hostname();
  const id = pcId ?? pcIdFromHostname(hostname);
  if (!isValidToken(id)) throw new Error(`pc_id ${JSON.stringify(id)} is not a valid NATS subject token`);
  return { pcId: id, hostname, osFamily: osFamilyOf(process.platform), agentVersion: AGENT_VERSION };
}
