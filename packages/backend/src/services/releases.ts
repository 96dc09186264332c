// Agent releases and staged rollout. A release is an object in
// `agent_releases` under upstream's key (`<version>` for Windows builds,
// `<version>-<platform>` otherwise; this project's own agent is the `node`
// platform, see docs/agent-releases.md), carrying its version and platform in
// the object's metadata. Rollout writes `target_version` (and
// `target_version_jitter` when given) into one `agent_config` scope with a
// compare-and-swap read-modify-write of the raw JSON, so fields this backend
// does not know (written by a newer upstream) survive; agents watching the
// bucket resolve their effective target and update themselves.
//
// A release may not disappear while a scope still targets it (409): agents
// that have not updated yet would find nothing to download.
import type { Readable } from 'node:stream';
import {
  CONFIG_KEY,
  decodeScope,
  isObjectSegment,
  KV,
  OBJ,
  OBJECT_META,
  parseConfigKey,
  parseReleaseKey,
  type ReleasePlatform,
  releaseKey,
} from '@kanade/wire';
import type { ObjectInfo } from '@nats-io/obj';
import { ApiError, badRequest, notFound } from '../http/errors.js';
import type { ObjectRow } from '../store/objects.js';
import type { AgentService } from './agents.js';
import type { AuditService, Caller } from './audit.js';
import { type KvAccess, readEntries } from './kv.js';
import { readModifyWrite } from './kv-cas.js';
import type { ByteRange, ObjectAccess } from './objects.js';

/** Upstream's publish limit. */
export const RELEASE_MAX_BYTES = 64 * 1024 * 1024;

export interface ReleaseView {
  version: string;
  platform: string;
  key: string;
  size: number;
  digest: string | null;
  modified: number;
}

export type RolloutScope =
  | { type: 'global' }
  | { type: 'group'; value: string }
  | { type: 'pc'; value: string };

export interface TargetView {
  scope: 'global' | 'group' | 'pc';
  name: string | null;
  key: string;
  target_version: string;
  target_version_jitter: string | null;
}

function viewOf(r: ObjectRow): ReleaseView {
  const parsed = parseReleaseKey(r.key);
  return {
    version: r.meta?.[OBJECT_META.version] ?? parsed.version,
    platform: r.meta?.[OBJECT_META.platform] ?? parsed.platform,
    key: r.key,
    size: r.size,
    digest: r.digest,
    modified: r.modified,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A scope as raw JSON (unknown fields kept); anything that is not a JSON object reads as {}. */
const rawScope = {
  decode(value: Uint8Array | undefined): Record<string, unknown> {
    if (!value) return {};
    try {
      const v = JSON.parse(decoder.decode(value)) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  },
  encode: (v: Record<string, unknown>) => encoder.encode(JSON.stringify(v)),
};

/**
 * The platform of a release file from its first bytes: a PE (`MZ`) is a
 * Windows build, an ELF or Mach-O image is Linux or macOS with the CPU from
 * its header, anything else (a JavaScript bundle) is this agent's `node`.
 */
export function detectPlatform(head: Uint8Array): ReleasePlatform {
  if (head[0] === 0x4d && head[1] === 0x5a) return 'windows';
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    const little = head[5] !== 2;
    const machine = little
      ? (head[18] ?? 0) | ((head[19] ?? 0) << 8)
      : ((head[18] ?? 0) << 8) | (head[19] ?? 0);
    return machine === 0xb7 ? 'linux-aarch64' : 'linux-x86_64';
  }
  const magic = ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  if (magic >>> 0 === 0xcffaedfe || magic >>> 0 === 0xfeedfacf) {
    const little = magic >>> 0 === 0xcffaedfe;
    const cpu = little
      ? ((head[4] ?? 0) | ((head[5] ?? 0) << 8) | ((head[6] ?? 0) << 16) | ((head[7] ?? 0) << 24)) >>> 0
      : (((head[4] ?? 0) << 24) | ((head[5] ?? 0) << 16) | ((head[6] ?? 0) << 8) | (head[7] ?? 0)) >>> 0;
    return cpu === 0x0100000c ? 'macos-aarch64' : 'macos-x86_64';
  }
  return 'node';
}

export function scopeKey(scope: RolloutScope): string {
  return scope.type === 'global'
    ? CONFIG_KEY.global
    : scope.type === 'group'
      ? CONFIG_KEY.group(scope.value)
      : CONFIG_KEY.pc(scope.value);
}

export function createReleaseService(deps: {
  objects: ObjectAccess;
  kv: KvAccess;
  audit: AuditService;
  agents: AgentService;
}) {
  const { objects, kv, audit } = deps;
  const bucket = OBJ.AGENT_RELEASES;

  function all(): ReleaseView[] {
    return objects.list(bucket, { order: 'newest', limit: 100_000, offset: 0 }).rows.map(viewOf);
  }

  async function targets(): Promise<TargetView[]> {
    const out: TargetView[] = [];
    for (const [key, value] of await readEntries(await kv.bucket(KV.AGENT_CONFIG))) {
      const k = parseConfigKey(key);
      if (!k) continue;
      const s = decodeScope(value);
      if (!s.target_version) continue;
      out.push({
        scope: k.scope,
        name: k.scope === 'group' ? k.name : k.scope === 'pc' ? k.pcId : null,
        key,
        target_version: s.target_version,
        target_version_jitter: s.target_version_jitter ?? null,
      });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  function checkVersion(version: string) {
    if (!isObjectSegment(version))
      throw badRequest(
        `version: letters, digits, . _ + = - only (at most 128, no slash), got ${JSON.stringify(version)}`,
      );
  }

  return {
    list: all,
    targets,

    async publish(
      r: {
        version: string;
        platform: ReleasePlatform;
        body: AsyncIterable<Uint8Array>;
        length?: number | undefined;
        sha256?: string | undefined;
      },
      caller: Caller,
    ): Promise<ReleaseView> {
      checkVersion(r.version);
      const row = await objects.put(bucket, releaseKey(r.version, r.platform), {
        body: r.body,
        length: r.length,
        expectedSha256: r.sha256,
        maxBytes: RELEASE_MAX_BYTES,
        what: 'agent release',
        metadata: { [OBJECT_META.version]: r.version, [OBJECT_META.platform]: r.platform },
      });
      await audit.record({
        actor: 'operator',
        action: 'agent_publish',
        target: row.key,
        payload: { version: r.version, platform: r.platform, size: row.size, digest: row.digest },
        caller,
      });
      return viewOf(row);
    },

    /** The live release object for a version and platform, or a 404. */
    async open(version: string, platform: ReleasePlatform): Promise<ObjectInfo> {
      checkVersion(version);
      const key = releaseKey(version, platform);
      const info = await objects.info(bucket, key);
      if (!info) throw notFound(`no ${platform} build of agent release ${version}`);
      return info;
    },

    read: (info: ObjectInfo, range?: ByteRange): Readable => objects.read(bucket, info, range),

    /** Delete every build of `version` (or only its `platform` build); 409 while a scope targets it. */
    async remove(version: string, platform: ReleasePlatform | undefined, caller: Caller): Promise<string[]> {
      checkVersion(version);
      const builds = all().filter((r) => r.version === version && (!platform || r.platform === platform));
      if (builds.length === 0) {
        throw notFound(`no agent release ${version}${platform ? ` for ${platform}` : ''}`);
      }
      const using = (await targets()).filter((t) => t.target_version === version).map((t) => t.key);
      if (using.length > 0) {
        throw new ApiError(
          'KANADE_ERR_CONFLICT',
          `agent release ${version} is the target_version of ${using.join(', ')}; roll those scopes to another version first`,
        );
      }
      const removed: string[] = [];
      for (const b of builds) if (await objects.remove(bucket, b.key)) removed.push(b.key);
      await audit.record({
        actor: 'operator',
        action: 'agent_release_delete',
        target: version,
        payload: { keys: removed },
        caller,
      });
      return removed;
    },

    /** Point one config scope at `version` (404 when no build of it exists). */
    async rollout(
      r: { version: string; scope: RolloutScope; jitter?: string | undefined },
      caller: Caller,
    ): Promise<{ key: string; scope: Record<string, unknown>; changed: boolean }> {
      checkVersion(r.version);
      if (!all().some((b) => b.version === r.version)) {
        throw notFound(
          `no agent release ${r.version} has been published; publish it first (kanade agent publish)`,
        );
      }
      const key = scopeKey(r.scope);
      const res = await readModifyWrite(await kv.bucket(KV.AGENT_CONFIG), key, rawScope, (cur) => {
        const next: Record<string, unknown> = { ...cur, target_version: r.version };
        if (r.jitter !== undefined) next.target_version_jitter = r.jitter;
        return JSON.stringify(next) === JSON.stringify(cur) ? undefined : next;
      });
      await audit.record({
        actor: 'operator',
        action: 'agent_rollout',
        target: key,
        payload: { version: r.version, jitter: r.jitter ?? null, changed: res.changed },
        caller,
      });
      return { key, scope: res.value, changed: res.changed };
    },

    /** What the fleet is told to run and what it runs: targets, versions in use, quarantine counts. */
    async status() {
      const t = await targets();
      const versions = deps.agents.versions();
      const candidates = new Set([...t.map((x) => x.target_version), ...all().map((r) => r.version)]);
      const quarantined: { version: string; agents: number }[] = [];
      for (const version of [...candidates].sort()) {
        const n = deps.agents.list({
          quarantined: version,
          sort: 'pc_id',
          dir: 'asc',
          limit: 1,
          offset: 0,
        }).total;
        if (n > 0) quarantined.push({ version, agents: n });
      }
      return { targets: t, versions, quarantined };
    },
  };
}
export type ReleaseService = ReturnType<typeof createReleaseService>;
