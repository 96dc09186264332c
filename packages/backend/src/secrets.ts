// Secrets generated once into the data dir (mode 0600) when none is configured.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Read the secret at `path`, creating it with `bytes` random bytes (base64url) the first time. */
export function loadOrCreateSecret(path: string, bytes = 32): { value: string; created: boolean } {
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value.length >= 16) return { value, created: false };
  }
  mkdirSync(dirname(path), { recursive: true });
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return { value, created: true };
}
