// What every projector counts. Projectors run in the ingest worker thread;
// they accumulate deltas here and the worker ships them to the main thread,
// which owns the Prometheus registry (see ../metrics.ts).

export interface ProjectorDelta {
  received: number;
  written: number;
  invalid: number;
  dropped: number;
  flushes: number;
  flushErrors: number;
  /** Flush durations in seconds since the last report. */
  flushSeconds: number[];
}

export function emptyDelta(): ProjectorDelta {
  return { received: 0, written: 0, invalid: 0, dropped: 0, flushes: 0, flushErrors: 0, flushSeconds: [] };
}

export class ProjectorStats {
  private delta = emptyDelta();
  constructor(readonly name: string) {}

  received(n = 1) {
    this.delta.received += n;
  }
  written(n: number) {
    this.delta.written += n;
  }
  invalid(n = 1) {
    this.delta.invalid += n;
  }
  dropped(n: number) {
    this.delta.dropped += n;
  }
  flushed(seconds: number) {
    this.delta.flushes++;
    this.delta.flushSeconds.push(seconds);
  }
  flushFailed() {
    this.delta.flushErrors++;
  }
  /** Hand over what was counted since the last call. */
  take(): ProjectorDelta {
    const d = this.delta;
    this.delta = emptyDelta();
    return d;
  }
}
