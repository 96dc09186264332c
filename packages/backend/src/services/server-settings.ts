// The `server_settings` KV document (key `current`): operator-editable
// backend settings, every field optional with "unset = built-in default", as
// upstream's ServerSettings. PUT replaces the editable fields as a whole and
// answers 422 naming the first bad field. Two kinds of content survive a PUT
// untouched: `support_codes` (secrets with their own endpoint upstream, so a
// redacted document round-tripping through a form can never blank a live
// code) and fields this build does not know (written by a newer upstream).
// Reads never return a support-code hash. Writes are compare-and-swap on the
// KV revision so two concurrent saves cannot silently merge.
import { KV } from '@kanade/wire';
import { type KV as KvBucket, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import { BROKER_TOKEN_CHARS, BROKER_TOKEN_RE } from '../nats/hosts.js';
import type { AuditService, Caller } from './audit.js';
import { isConflict } from './kv-cas.js';

export const SETTINGS_KEY = 'current';

export const SETTINGS_LIMITS = {
  agent_prune_days: { min: 0, max: 36_500 },
  collect_retention_days: { min: 1, max: 3650 },
  session_ttl_hours: { min: 1, max: 8760 },
  check_status_stale_days: { min: 0, max: 3650 },
} as const;

export const SETTINGS_DEFAULTS = {
  collect_retention_days: 30,
  session_ttl_hours: 24,
  check_status_stale_days: 30,
} as const;

const days = (k: keyof typeof SETTINGS_LIMITS) =>
  z
    .number({ error: 'expected an integer' })
    .int('expected an integer')
    .min(SETTINGS_LIMITS[k].min, `must be at least ${SETTINGS_LIMITS[k].min}`)
    .max(SETTINGS_LIMITS[k].max, `must be at most ${SETTINGS_LIMITS[k].max}`)
    .nullish();

export const MailSettings = z.strictObject({
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  encryption: z.enum(['starttls', 'tls', 'none']),
  from: z.string().min(3).max(320),
  username: z.string().max(256).nullish(),
});

/**
 * The broker URL baked into agent installers: one URL or a comma-separated cluster list, no credentials
 * in it (those go in nats_token, which is never shown again).
 */
export const AgentNatsUrl = z
  .string()
  .max(1024)
  .refine(
    (s) => s.split(',').every((u) => /^(nats|tls|ws|wss):\/\/[^\s,@/]+(\/[^\s,@]*)?$/.test(u.trim())),
    'expected nats://host:port (or tls://, ws://, wss://), comma-separated for a cluster, without credentials',
  );

/**
 * `agent_install` (upstream's name): what installers give new agents. The token is write-only: GET shows
 * `nats_token_set`; in a PUT an absent `nats_token` keeps the stored one, null removes it, and
 * `nats_token_set` (from a round-tripped GET) is ignored.
 */
const AgentInstall = z.strictObject({
  nats_url: AgentNatsUrl.nullish(),
  nats_token: z.string().min(1).max(256).regex(BROKER_TOKEN_RE, `expected ${BROKER_TOKEN_CHARS}`).nullish(),
  nats_token_set: z.boolean().optional(),
});

/** The fields PUT accepts. `support_codes` is accepted and ignored (see the header). */
const EDITABLE = {
  agent_prune_days: days('agent_prune_days'),
  controller_group: z.string().max(256).nullish(),
  mail: MailSettings.nullish(),
  collect_retention_days: days('collect_retention_days'),
  session_ttl_hours: days('session_ttl_hours'),
  check_status_stale_days: days('check_status_stale_days'),
  agent_install: AgentInstall.nullish(),
};
const EditableSettings = z.strictObject({ ...EDITABLE, support_codes: z.unknown().optional() });
export type EditableSettings = z.infer<typeof EditableSettings>;

const SupportCode = z.object({
  scope: z.string(),
  label: z.string().nullish(),
  ttl_minutes: z.number().int().nullish(),
  disabled: z.boolean().optional(),
});

export interface SettingsView {
  agent_prune_days?: number | null | undefined;
  controller_group?: string | null | undefined;
  mail?: z.infer<typeof MailSettings> | null | undefined;
  collect_retention_days?: number | null | undefined;
  session_ttl_hours?: number | null | undefined;
  check_status_stale_days?: number | null | undefined;
  agent_install?: { nats_url?: string; nats_token_set: boolean } | undefined;
  support_codes: z.infer<typeof SupportCode>[];
}

/** What installers bake in, as stored (token included): for services/installer.ts only. */
export interface AgentInstallSettings {
  nats_url?: string | undefined;
  nats_token?: string | undefined;
}

function agentInstallOf(stored: Stored): AgentInstallSettings {
  const v = stored.agent_install;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const { nats_url, nats_token } = v as Record<string, unknown>;
  return {
    nats_url: typeof nats_url === 'string' && AgentNatsUrl.safeParse(nats_url).success ? nats_url : undefined,
    // A stored token that agent.env could not hold (written by hand or by another tool) counts as unset.
    nats_token: typeof nats_token === 'string' && BROKER_TOKEN_RE.test(nats_token) ? nats_token : undefined,
  };
}

type Stored = Record<string, unknown>;

function decode(bytes: Uint8Array | undefined, log: Logger): Stored {
  if (!bytes || bytes.length === 0) return {};
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Stored;
  } catch {
    // fall through
  }
  log.warn('server_settings/current is not a JSON object; using the built-in defaults');
  return {};
}

/** The stored document as the API shows it: known fields that still validate, hashes removed. */
function viewOf(stored: Stored): SettingsView {
  const view: SettingsView = { support_codes: [] };
  for (const [k, schema] of Object.entries(EDITABLE)) {
    if (k === 'agent_install') continue;
    const r = schema.safeParse(stored[k]);
    if (r.success && r.data !== undefined && r.data !== null) (view as unknown as Stored)[k] = r.data;
  }
  const install = agentInstallOf(stored);
  if (install.nats_url || install.nats_token) {
    view.agent_install = {
      ...(install.nats_url ? { nats_url: install.nats_url } : {}),
      nats_token_set: install.nats_token !== undefined,
    };
  }
  if (Array.isArray(stored.support_codes)) {
    for (const c of stored.support_codes) {
      const r = SupportCode.safeParse(c);
      if (r.success) view.support_codes.push(r.data);
    }
  }
  return view;
}

/** Validate a PUT body; the first problem becomes a 422 naming its field. */
export function parseEditable(body: unknown): EditableSettings {
  const r = EditableSettings.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = [...issue.path, ...keys.slice(0, 1)].join('.');
  const message = issue.code === 'unrecognized_keys' ? 'unknown setting' : issue.message;
  throw new ApiError('KANADE_ERR_UNPROCESSABLE', field ? `body field ${field}: ${message}` : message);
}

/** The stored agent_install after a PUT: the URL as given, the token kept unless replaced or removed. */
function mergeAgentInstall(
  prev: AgentInstallSettings,
  body: EditableSettings['agent_install'],
): AgentInstallSettings | undefined {
  const nats_url = body?.nats_url ?? undefined;
  const nats_token = body?.nats_token === undefined ? prev.nats_token : (body.nats_token ?? undefined);
  if (!nats_url && !nats_token) return undefined;
  return { ...(nats_url ? { nats_url } : {}), ...(nats_token ? { nats_token } : {}) };
}

function effectiveSessionTtlHours(stored: Stored): number {
  const v = stored.session_ttl_hours;
  const { min, max } = SETTINGS_LIMITS.session_ttl_hours;
  if (typeof v !== 'number' || !Number.isFinite(v)) return SETTINGS_DEFAULTS.session_ttl_hours;
  return Math.min(max, Math.max(min, Math.trunc(v)));
}

export function createServerSettingsService(nc: NatsConnection, audit: AuditService, log: Logger) {
  let bucket: Promise<KvBucket> | undefined;
  const kv = () => {
    bucket ??= new Kvm(nc).open(KV.SERVER_SETTINGS).catch((err) => {
      bucket = undefined;
      throw err;
    });
    return bucket;
  };

  async function read(): Promise<{ stored: Stored; revision: number }> {
    let entry: Awaited<ReturnType<KvBucket['get']>>;
    try {
      entry = await (await kv()).get(SETTINGS_KEY);
    } catch (err) {
      throw new ApiError(
        'KANADE_ERR_UNAVAILABLE',
        `the ${KV.SERVER_SETTINGS} KV bucket is not available: ${(err as Error).message}`,
      );
    }
    if (entry?.operation !== 'PUT') return { stored: {}, revision: entry?.revision ?? 0 };
    return { stored: decode(entry.value, log), revision: entry.revision };
  }

  /** Compare-and-swap write; false when someone else wrote first. */
  async function write(data: string, revision: number): Promise<boolean> {
    try {
      const bucket = await kv();
      if (revision === 0) await bucket.create(SETTINGS_KEY, data);
      else await bucket.update(SETTINGS_KEY, data, revision);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw new ApiError('KANADE_ERR_UNAVAILABLE', `cannot write server settings: ${(err as Error).message}`);
    }
  }

  return {
    async get(): Promise<SettingsView> {
      return viewOf((await read()).stored);
    },
    defaults(): SettingsView {
      return { ...SETTINGS_DEFAULTS, support_codes: [] };
    },
    /** The installer settings with the token (never for an API answer). */
    async agentInstall(): Promise<AgentInstallSettings> {
      return agentInstallOf((await read()).stored);
    },
    /** Login-token lifetime; the built-in default when the document cannot be read. */
    async sessionTtlHours(): Promise<number> {
      try {
        return effectiveSessionTtlHours((await read()).stored);
      } catch (err) {
        log.warn(
          { err: (err as Error).message },
          'server settings unreadable; using the default session TTL',
        );
        return SETTINGS_DEFAULTS.session_ttl_hours;
      }
    },
    /** Replace the editable fields (audited); returns the new document as the API shows it. */
    async replace(body: EditableSettings, caller: Caller): Promise<SettingsView> {
      for (let attempt = 0; attempt < 5; attempt++) {
        const { stored, revision } = await read();
        const next: Stored = {};
        for (const [k, v] of Object.entries(stored)) if (!(k in EDITABLE)) next[k] = v;
        for (const k of Object.keys(EDITABLE) as (keyof typeof EDITABLE)[]) {
          const v = body[k];
          if (k !== 'agent_install' && v !== undefined && v !== null) next[k] = v;
        }
        const install = mergeAgentInstall(agentInstallOf(stored), body.agent_install);
        if (install) next.agent_install = install;
        const data = JSON.stringify(next);
        if (await write(data, revision)) {
          const view = viewOf(next);
          const { support_codes: _codes, ...settings } = view;
          await audit.record({
            actor: 'operator',
            action: 'server_settings.update',
            payload: { settings },
            caller,
          });
          return view;
        }
      }
      throw new ApiError('KANADE_ERR_CONFLICT', 'server settings are being changed concurrently; retry');
    },
  };
}
export type ServerSettingsService = ReturnType<typeof createServerSettingsService>;
