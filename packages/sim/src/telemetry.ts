// Publishes the fleet's telemetry the way upstream agents do: core NATS on
// heartbeat.{pc_id}, host_perf.{pc_id} and process_perf.{pc_id}, lossy, no
// stream. While the connection is down a message is dropped and counted
// rather than queued in the client: 100k agents would pile up about 2 MB a
// second of stale samples, and a real agent's next beat supersedes them anyway.

import { subject } from '@kanade/wire';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Fleet, pcIdOf, stepAgent, stepHost } from './fleet.js';
import { heartbeatJson, hostPerfJson, processPerfJson } from './messages.js';

export interface TelemetryCounters {
  heartbeats: number;
  hostPerf: number;
  processPerf: number;
  publishErrors: number;
  droppedDisconnected: number;
}

export interface TelemetryPublisher {
  readonly counters: TelemetryCounters;
  connected: boolean;
  /** Steps agent `i`'s own process values by `dtSec` and publishes its heartbeat. */
  heartbeat(i: number, at: string, dtSec: number): boolean;
  /** Steps host `i` and publishes host_perf, plus process_perf when `topN` > 0. */
  hostPerf(i: number, at: string, topN: number): boolean;
}

export function createTelemetryPublisher(
  nc: NatsConnection,
  fleet: Fleet,
  answersCommands = false,
): TelemetryPublisher {
  const counters: TelemetryCounters = {
    heartbeats: 0,
    hostPerf: 0,
    processPerf: 0,
    publishErrors: 0,
    droppedDisconnected: 0,
  };
  const pub = {
    counters,
    connected: true,
    heartbeat(i: number, at: string, dtSec: number): boolean {
      stepAgent(fleet, i, dtSec);
      if (!pub.connected) {
        counters.droppedDisconnected++;
        return false;
      }
      const pcId = pcIdOf(fleet, i);
      if (!send(subject.heartbeat(pcId), heartbeatJson(fleet, i, pcId, at, answersCommands))) return false;
      counters.heartbeats++;
      return true;
    },
    hostPerf(i: number, at: string, topN: number): boolean {
      stepHost(fleet, i);
      if (!pub.connected) {
        counters.droppedDisconnected += topN > 0 ? 2 : 1;
        return false;
      }
      const pcId = pcIdOf(fleet, i);
      if (!send(subject.hostPerf(pcId), hostPerfJson(fleet, i, pcId, at))) return false;
      counters.hostPerf++;
      if (topN > 0) {
        if (!send(subject.processPerf(pcId), processPerfJson(fleet, i, pcId, at, topN))) return false;
        counters.processPerf++;
      }
      return true;
    },
  };
  function send(subj: string, body: string): boolean {
    try {
      nc.publish(subj, body);
      return true;
    } catch {
      counters.publishErrors++;
      return false;
    }
  }
  return pub;
}
