// Builds the upstream Heartbeat body. Only fields this agent knows are set.
// `command_protocols` says the agent takes plain (legacy) Command bodies, so
// the backend never sends it a signed v2 envelope; `command_keys` and
// `enforcing` stay absent ("unknown" on the wire) because this agent does not
// verify command signatures.

import { COMMAND_PROTOCOL, type Heartbeat } from '@kanade/wire';
import type { Identity } from './identity.js';
import type { SelfUsage } from './self-usage.js';

export const COMMAND_PROTOCOLS = [COMMAND_PROTOCOL.LEGACY];

export function buildHeartbeat(
  id: Identity,
  self: SelfUsage,
  at: string,
  lastLogonUser: string | null,
  quarantinedVersions: readonly string[] = [],
): Heartbeat {
  return {
    pc_id: id.pcId,
    at,
    agent_version: id.agentVersion,
    hostname: id.hostname,
    os_family: id.osFamily,
    agent_cpu_pct: self.cpuPct,
    agent_rss_bytes: self.rssBytes,
    agent_disk_read_bytes: self.diskReadBytes,
    agent_disk_written_bytes: self.diskWrittenBytes,
    last_logon_user: lastLogonUser,
    command_protocols: COMMAND_PROTOCOLS,
    // Versions self-update refused after they failed to start here (left out when none, as upstream).
    ...(quarantinedVersions.length > 0 ? { quarantined_versions: [...quarantinedVersions] } : {}),
  };
}

/**
 * The reply to `agents.{pc_id}.ping`: a fresh beat without the self-usage
 * figures, as upstream. Those are deltas over the heartbeat interval; an
 * on-demand sample would be misleading, and the backend keeps the last
 * periodic values because it coalesces nulls.
 */
export function pingHeartbeat(id: Identity, at: string): Heartbeat {
  return {
    pc_id: id.pcId,
    at,
    agent_version: id.agentVersion,
    hostname: id.hostname,
    os_family: id.osFamily,
    command_protocols: COMMAND_PROTOCOLS,
  };
}
