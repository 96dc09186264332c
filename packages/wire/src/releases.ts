// Object-store naming shared by the backend, the agent and the CLI: agent
// release keys, `name/version` keys of app packages and script objects, the
// key of a collected bundle, and the digest formats.
//
// Release keys follow upstream: a Windows build is stored under `<version>`,
// other builds under `<version>-<platform>` (`0.2.0-linux-x86_64`,
// `0.2.0-macos-aarch64`), so an upstream Rust agent finds its binary in a
// mixed fleet. This TypeScript agent's release is a single-file ESM bundle
// (docs/agent-releases.md) that runs wherever Node 20 runs: platform `node`,
// key `<version>-node`.
//
// Digests: the NATS object store records `SHA-256=<base64url>` (padded) in
// the object's info; commands, the API and the CLI use lowercase hex, as
// upstream's `script_object_sha256` does.

export const RELEASE_PLATFORMS = [
  'node',
  'windows',
  'linux-x86_64',
  'linux-aarch64',
  'macos-x86_64',
  'macos-aarch64',
] as const;
export type ReleasePlatform = (typeof RELEASE_PLATFORMS)[number];

/** The platform of this TypeScript agent's release bundles. */
export const NODE_RELEASE_PLATFORM: ReleasePlatform = 'node';

/** A release version or object name segment: no slash, no whitespace, at most 128 characters. */
const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._+=-]{0,127}$/;

export function isObjectSegment(s: string): boolean {
  return SEGMENT_RE.test(s);
}

export function isReleasePlatform(s: string): s is ReleasePlatform {
  return (RELEASE_PLATFORMS as readonly string[]).includes(s);
}

export function releaseKey(version: string, platform: ReleasePlatform): string {
  return platform === 'windows' ? version : `${version}-${platform}`;
}

/** The version and platform of a key in `agent_releases` (a key with no known suffix is a Windows build). */
export function parseReleaseKey(key: string): { version: string; platform: ReleasePlatform } {
  for (const p of RELEASE_PLATFORMS) {
    if (p !== 'windows' && key.endsWith(`-${p}`) && key.length > p.length + 1)
      return { version: key.slice(0, -(p.length + 1)), platform: p };
  }
  return { version: key, platform: 'windows' };
}

/** `name/version`: the key of an app package or a script object. */
export const packageKey = (name: string, version: string): string => `${name}/${version}`;

/** The parts of a collected bundle key `<pc_id>/<job_id>/[<label>__]<rfc3339>.zip`; undefined when it is not one. */
export function parseBundleKey(
  key: string,
): { pcId: string; jobId: string; label: string | null; collectedAt: string } | undefined {
  const parts = key.split('/');
  if (parts.length !== 3) return undefined;
  const [pcId, jobId, file] = parts as [string, string, string];
  if (!pcId || !jobId || !file.endsWith('.zip')) return undefined;
  const stem = file.slice(0, -4);
  const sep = stem.lastIndexOf('__');
  const label = sep > 0 ? stem.slice(0, sep) : null;
  const collectedAt = sep > 0 ? stem.slice(sep + 2) : stem;
  if (!collectedAt) return undefined;
  return { pcId, jobId, label, collectedAt };
}

const HEX_SHA256_RE = /^[0-9a-f]{64}$/;

export function isSha256Hex(s: string): boolean {
  return HEX_SHA256_RE.test(s);
}

/** `SHA-256=<base64url>` (the object store's format) -> lowercase hex; undefined when it is not one. */
export function objectDigestHex(digest: string): string | undefined {
  const m = /^SHA-256=([A-Za-z0-9_-]+={0,2})$/i.exec(digest);
  if (!m) return undefined;
  const b64 = m[1]!.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  let bin: string;
  try {
    bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  } catch {
    return undefined;
  }
  if (bin.length !== 32) return undefined;
  let hex = '';
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
  return hex;
}

/** Metadata keys the backend sets on objects it stores (in the object's info, readable by every client). */
export const OBJECT_META = {
  /** Lowercase hex SHA-256 of the content, as checked on upload. */
  sha256: 'kanade-sha256',
  /** Release platform (agent_releases only). */
  platform: 'kanade-platform',
  /** Release version (agent_releases only). */
  version: 'kanade-version',
} as const;
