// Fetches this agent's release bundle of a version (`<version>-node` in the
// `agent_releases` object store) to `<state-dir>/releases/<version>.mjs`.
// The bytes stream to a `.part` file while being hashed; the file is renamed
// into place only when its SHA-256 equals the digest the object store
// recorded (which the backend checked against the operator's own digest on
// upload), so a damaged or truncated download is never run.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_RELEASE_PLATFORM, OBJ, objectDigestHex, releaseKey } from '@kanade/wire';
import { Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';

export class ReleaseNotPublished extends Error {}

export async function downloadRelease(
  nc: NatsConnection,
  version: string,
  dir: string,
): Promise<{ file: string; sha256: string; size: number }> {
  setSha256Backend('native');
  const key = releaseKey(version, NODE_RELEASE_PLATFORM);
  const store = await new Objm(nc).open(OBJ.AGENT_RELEASES);
  const r = await store.get(key);
  if (!r) throw new ReleaseNotPublished(`release ${version} has no ${NODE_RELEASE_PLATFORM} build (${key})`);
  const want = objectDigestHex(r.info.digest);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${version}.mjs`);
  const part = `${file}.part`;
  const out = createWriteStream(part, { mode: 0o600 });
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of r.data) {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    const err = await r.error;
    if (err) throw err;
    out.end();
    await once(out, 'finish');
    const got = hash.digest('hex');
    if (got !== want) throw new Error(`release ${key} has sha256 ${got}, the store says ${want}`);
    renameSync(part, file);
    return { file, sha256: got, size };
  } catch (err) {
    out.destroy();
    rmSync(part, { force: true });
    throw err;
  }
}
