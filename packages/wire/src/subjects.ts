// Subject builders, byte-identical to upstream `kanade-shared/src/subject.rs`.
// Tokens come from operators and agents (pc ids, group names), so builders
// refuse values that would change the subject's shape: a `.` would add a token
// and `*`, `>` or whitespace would turn a publish into a wildcard.

const TOKEN_RE = /^[^\s.*>]+$/;

export function isValidToken(value: string): boolean {
  return value.length > 0 && value.length <= 256 && TOKEN_RE.test(value);
}

function token(kind: string, value: string): string {
  if (!isValidToken(value)) throw new Error(`invalid ${kind} for a NATS subject: ${JSON.stringify(value)}`);
  return value;
}

export const subject = {
  heartbeat: (pcId: string) => `heartbeat.${token('pc_id', pcId)}`,
  hostPerf: (pcId: string) => `host_perf.${token('pc_id', pcId)}`,
  processPerf: (pcId: string) => `process_perf.${token('pc_id', pcId)}`,
  commandsAll: () => 'commands.all',
  commandsGroup: (group: string) => `commands.group.${token('group', group)}`,
  commandsPc: (pcId: string) => `commands.pc.${token('pc_id', pcId)}`,
  results: (requestId: string) => `results.${token('request_id', requestId)}`,
  eventsStarted: (execId: string, pcId: string) =>
    `events.started.${token('exec_id', execId)}.${token('pc_id', pcId)}`,
  obs: (pcId: string) => `obs.${token('pc_id', pcId)}`,
  kill: (execId: string) => `kill.${token('exec_id', execId)}`,
  jobTail: (pcId: string) => `job.tail.${token('pc_id', pcId)}`,
  logsFetch: (pcId: string) => `logs.fetch.${token('pc_id', pcId)}`,
  agentPing: (pcId: string) => `agents.${token('pc_id', pcId)}.ping`,
  // Upstream actions are dotted (`account.create`), so each segment is a token of its own.
  audit: (actor: string, action: string, target?: string | null) =>
    target
      ? `audit.${token('actor', actor)}.${auditAction(action)}.${sanitizeAuditTarget(target)}`
      : `audit.${token('actor', actor)}.${auditAction(action)}`,
} as const;

function auditAction(action: string): string {
  for (const part of action.split('.')) token('action', part);
  return action;
}

/** Audit targets are free text (job ids, usernames); dots and wildcards become `_`. */
function sanitizeAuditTarget(target: string): string {
  const cleaned = target.replace(/[\s.*>]/g, '_').slice(0, 200);
  return cleaned.length > 0 ? cleaned : '_';
}

/** Wildcards the backend subscribes to. */
export const SUBJECT_FILTER = {
  heartbeat: 'heartbeat.>',
  hostPerf: 'host_perf.>',
  processPerf: 'process_perf.>',
  results: 'results.>',
  eventsStarted: 'events.started.>',
  notificationAcks: 'events.notifications.acked.>',
  obs: 'obs.>',
  audit: 'audit.>',
} as const;

/** The pc_id token of a `<prefix>.<pc_id>` subject, or undefined. */
export function pcIdFromSubject(subj: string): string | undefined {
  const dot = subj.indexOf('.');
  if (dot < 0) return undefined;
  const rest = subj.slice(dot + 1);
  return rest.length > 0 && !rest.includes('.') ? rest : undefined;
}
