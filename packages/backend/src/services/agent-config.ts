// The layered agent configuration API over the `agent_config` bucket (keys
// `global`, `groups.<name>`, `pcs.<pc_id>`). Writes store the validated scope
// with unset fields left out; agents watch the bucket and resolve it
// themselves with the same resolver (@kanade/wire resolve()), so the
// effective view here is what the agent runs. The views read every scope in
// one pass of the bucket (it holds one key per configured group or PC).
import {
  BUILTIN_CONFIG,
  CONFIG_KEY,
  type ConfigKey,
  type ConfigScope,
  type ConfigScopeWrite,
  compactScope,
  decodeScope,
  type EffectiveConfig,
  KV,
  type MultiGroupConflict,
  parseConfigKey,
  resolve,
} from '@kanade/wire';
import type { z } from 'zod';
import type { AuditService, Caller } from './audit.js';
import type { GroupService } from './groups.js';
import { type KvAccess, readEntries } from './kv.js';

function keyOf(k: ConfigKey): string {
  return k.scope === 'global'
    ? CONFIG_KEY.global
    : k.scope === 'group'
      ? CONFIG_KEY.group(k.name)
      : CONFIG_KEY.pc(k.pcId);
}

export interface EffectiveView {
  pc_id: string;
  effective: EffectiveConfig;
  warnings: MultiGroupConflict[];
  my_groups: string[];
}

const encoder = new TextEncoder();

export function createAgentConfigService(deps: { kv: KvAccess; audit: AuditService; groups: GroupService }) {
  const { kv, audit, groups } = deps;
  const bucket = () => kv.bucket(KV.AGENT_CONFIG);

  async function scopes() {
    let global: ConfigScope | undefined;
    const byGroup = new Map<string, ConfigScope>();
    const byPc = new Map<string, ConfigScope>();
    for (const [key, value] of await readEntries(await bucket())) {
      const k = parseConfigKey(key);
      if (!k) continue;
      if (k.scope === 'global') global = decodeScope(value);
      else if (k.scope === 'group') byGroup.set(k.name, decodeScope(value));
      else byPc.set(k.pcId, decodeScope(value));
    }
    return { global, byGroup, byPc };
  }

  async function view(pcId: string, withPcScope: boolean): Promise<EffectiveView> {
    const [s, myGroups] = await Promise.all([scopes(), groups.myGroups(pcId)]);
    const r = resolve(s.global, s.byGroup, withPcScope ? s.byPc.get(pcId) : undefined, myGroups);
    return { pc_id: pcId, effective: r.effective, warnings: r.warnings, my_groups: myGroups };
  }

  return {
    defaults: (): EffectiveConfig => ({ ...BUILTIN_CONFIG }),

    /** One scope as stored ({} when unset). */
    async get(k: ConfigKey): Promise<ConfigScope> {
      const e = await (await bucket()).get(keyOf(k));
      return e?.operation === 'PUT' ? decodeScope(e.value) : {};
    },

    async put(k: ConfigKey, body: z.infer<typeof ConfigScopeWrite>, caller: Caller): Promise<ConfigScope> {
      const scope = compactScope(body);
      const key = keyOf(k);
      await (await bucket()).put(key, encoder.encode(JSON.stringify(scope)));
      await audit.record({
        actor: 'operator',
        action: 'config_set',
        target: key,
        payload: { scope },
        caller,
      });
      return scope;
    },

    /** Drop a scope (its fields fall back to the next layer); a missing scope is a no-op. */
    async remove(k: ConfigKey, caller: Caller): Promise<void> {
      const key = keyOf(k);
      const kvb = await bucket();
      const e = await kvb.get(key);
      if (e?.operation !== 'PUT') return;
      await kvb.delete(key);
      await audit.record({ actor: 'operator', action: 'config_delete', target: key, caller });
    },

    /** What a group scope builds on: built-in defaults and the global scope. */
    async groupInherited(name: string): Promise<{ group: string; effective: EffectiveConfig }> {
      const s = await scopes();
      return { group: name, effective: resolve(s.global, new Map(), undefined, []).effective };
    },

    /** What a PC scope builds on: built-in, global and the PC's groups (its own scope left out). */
    pcInherited: (pcId: string) => view(pcId, false),

    /** The configuration the PC's agent runs with. */
    effective: (pcId: string) => view(pcId, true),
  };
}
export type AgentConfigService = ReturnType<typeof createAgentConfigService>;
