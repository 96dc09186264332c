// Response schemas shared by several routes. Responses are serialized through
// these, so a column added to a table never leaks into the API unlisted.
import { z } from 'zod';

export const ErrorSchema = z.object({ code: z.string(), message: z.string() }).meta({ id: 'Error' });

export const AgentSchema = z
  .object({
    pc_id: z.string(),
    hostname: z.string().nullable(),
    os_family: z.string().nullable(),
    agent_version: z.string().nullable(),
    last_heartbeat: z.string().nullable(),
    updated_at: z.string(),
    online: z.boolean(),
    agent_cpu_pct: z.number().nullable(),
    agent_rss_bytes: z.number().nullable(),
    agent_disk_read_bytes: z.number().nullable(),
    agent_disk_written_bytes: z.number().nullable(),
    quarantined_versions: z.array(z.string()).optional(),
    last_logon_user: z.string().nullable(),
    last_logon_display_name: z.string().nullable(),
    command_keys: z.array(z.string()).optional(),
    enforcing: z.boolean().optional(),
    nats_user: z.string().optional(),
    nats_user_since: z.string().optional(),
    command_protocols: z.array(z.string()).optional(),
  })
  .meta({ id: 'Agent' });

const num = z.number().nullable();
export const PerfPointSchema = z.object({
  at: z.string(),
  cpu_pct: num,
  mem_used_bytes: num,
  mem_total_bytes: num,
  swap_used_bytes: num,
  swap_total_bytes: num,
  disk_read_bytes_per_sec: num,
  disk_written_bytes_per_sec: num,
  net_rx_bytes_per_sec: num,
  net_tx_bytes_per_sec: num,
});

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
} as const;
