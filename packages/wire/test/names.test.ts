// Wire names are a contract with upstream agents: each literal is pinned here.
import { describe, expect, it } from 'vitest';
import {
  ALL_OBJECT_STORES,
  ALL_STREAMS,
  agentReplayDurable,
  BACKEND_QUEUE_GROUP,
  BOOTSTRAP_KV_BUCKETS,
  DURABLE,
  LAZY_KV_BUCKETS,
  pcIdFromSubject,
  subject,
} from '../src/index.js';

const DAY = 86_400_000;

describe('stream names and limits', () => {
  it('are upstream ALL_STREAMS with bootstrap.rs limits', () => {
    expect(
      ALL_STREAMS.map((s) => [s.name, s.subjects, s.maxAgeMs / DAY, s.maxBytes, s.maxMsgsPerSubject]),
    ).toEqual([
      ['INVENTORY', ['inventory.>'], 90, 1024 ** 3, -1],
      ['RESULTS', ['results.>'], 30, 2 * 1024 ** 3, -1],
      ['EXEC', ['commands.>'], 7, 64 * 1024 ** 2, 1],
      ['EVENTS', ['events.>'], 7, 256 * 1024 ** 2, -1],
      ['AUDIT', ['audit.>'], 90, 512 * 1024 ** 2, -1],
      ['OBS_EVENTS', ['obs.>'], 90, 512 * 1024 ** 2, -1],
      ['NOTIFICATIONS', ['notifications.>'], 90, 512 * 1024 ** 2, -1],
    ]);
  });

  it('bootstraps the upstream KV buckets with their history', () => {
    expect(Object.fromEntries(BOOTSTRAP_KV_BUCKETS.map((b) => [b.name, b.history]))).toEqual({
      script_current: 5,
      script_status: 5,
      agents_state: 1,
      agent_config: 1,
      agent_groups: 1,
      agent_groups_derived: 1,
      agent_meta: 5,
      group_contacts: 5,
      schedules: 5,
      schedules_yaml: 5,
      jobs: 5,
      jobs_yaml: 5,
      fleet_config: 1,
      server_settings: 1,
      notifications_read: 1,
    });
    expect(LAZY_KV_BUCKETS.find((b) => b.name === 'scheduler_dispatch')).toEqual({
      name: 'scheduler_dispatch',
      history: 1,
      maxAgeMs: 3_600_000,
    });
  });

  it('names the object stores and durables as upstream does', () => {
    expect(ALL_OBJECT_STORES.map((o) => o.name)).toEqual([
      'agent_releases',
      'app_packages',
      'scripts',
      'result_output',
      'collections',
    ]);
    expect(DURABLE).toEqual({
      RESULTS: 'backend_results_projector',
      EVENTS: 'backend_events_projector',
      NOTIFICATION_ACKS: 'backend_notification_acks_projector',
      AUDIT: 'backend_audit_projector',
      OBS_EVENTS: 'backend_obs_events_projector',
    });
    expect(agentReplayDurable('pc-1')).toBe('agent_replay_pc-1');
    expect(BACKEND_QUEUE_GROUP).toBe('kanade-backend');
  });
});

describe('subjects', () => {
  it('build the upstream literals', () => {
    expect(subject.heartbeat('pc1')).toBe('heartbeat.pc1');
    expect(subject.hostPerf('pc1')).toBe('host_perf.pc1');
    expect(subject.processPerf('pc1')).toBe('process_perf.pc1');
    expect(subject.commandsAll()).toBe('commands.all');
    expect(subject.commandsGroup('canary')).toBe('commands.group.canary');
    expect(subject.commandsPc('pc1')).toBe('commands.pc.pc1');
    expect(subject.results('r1')).toBe('results.r1');
    expect(subject.eventsStarted('e1', 'pc1')).toBe('events.started.e1.pc1');
    expect(subject.obs('pc1')).toBe('obs.pc1');
    expect(subject.kill('e1')).toBe('kill.e1');
    expect(subject.jobTail('pc1')).toBe('job.tail.pc1');
    expect(subject.logsFetch('pc1')).toBe('logs.fetch.pc1');
    expect(subject.agentPing('pc1')).toBe('agents.pc1.ping');
    expect(subject.audit('operator', 'exec', 'job.a')).toBe('audit.operator.exec.job_a');
    expect(subject.audit('operator', 'exec')).toBe('audit.operator.exec');
    expect(subject.audit('admin', 'account.create', 'alice')).toBe('audit.admin.account.create.alice');
    expect(() => subject.audit('admin', 'account..create')).toThrow(/invalid action/);
  });

  it('refuse tokens that would change the subject shape', () => {
    for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'x\ty']) {
      expect(() => subject.heartbeat(bad)).toThrow(/invalid pc_id/);
    }
  });

  it('read the pc_id back from a telemetry subject', () => {
    expect(pcIdFromSubject('heartbeat.pc-7')).toBe('pc-7');
    expect(pcIdFromSubject('heartbeat')).toBeUndefined();
    expect(pcIdFromSubject('heartbeat.a.b')).toBeUndefined();
  });
});
