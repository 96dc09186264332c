// Live updates over GET /api/stream (Server-Sent Events read with fetch so
// the Authorization header goes along). Fleet counters land in the query
// cache; result, execution and audit events invalidate the queries that show
// them (at most once per second per key, so a 100,000-PC fan-out does not
// turn into a refetch storm). While the stream is down, pages fall back to
// polling through `usePollInterval`. A missing heartbeat comment (sent every
// 15 s) for 40 s counts as a dead stream and reconnects with backoff. The
// first connection waits for the page's early requests (lib/early.ts), so
// the long-lived stream does not take one of the browser's six connections
// per host while the first page loads.
import { type QueryClient, type QueryKey, skipToken, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { authHeaders } from './api.js';
import { earlySettled } from './early.js';
import { createSseParser, type SseEvent } from './sse.js';

export type LiveStatus = 'connecting' | 'live' | 'down';

export interface LiveCounters {
  known: number;
  active: number;
  stale: number;
  observed_at: string;
}

type Listener = (e: SseEvent) => void;

interface LiveState {
  status: LiveStatus;
  subscribe(listener: Listener): () => void;
}

const LiveContext = createContext<LiveState>({ status: 'down', subscribe: () => () => {} });

const STALL_MS = 40_000;
const MAX_BACKOFF_MS = 30_000;

/** Query keys each event type makes stale. */
const INVALIDATES: Record<string, QueryKey[]> = {
  results: [['results'], ['executions'], ['jobs'], ['schedules']],
  started: [['results'], ['executions'], ['jobs'], ['schedules']],
  executions: [['executions']],
  audit: [['audit']],
};

function throttledInvalidator(qc: QueryClient) {
  const pending = new Map<string, QueryKey>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (keys: QueryKey[]) => {
    for (const k of keys) pending.set(JSON.stringify(k), k);
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      for (const k of pending.values()) void qc.invalidateQueries({ queryKey: k });
      pending.clear();
    }, 1000);
  };
}

export function LiveProvider({ token, children }: { token: string | null; children: ReactNode }) {
  const qc = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const listeners = useRef(new Set<Listener>());

  useEffect(() => {
    const invalidate = throttledInvalidator(qc);
    let stopped = false;
    let controller: AbortController | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let backoff = 1000;

    const dispatch = (e: SseEvent) => {
      if (e.event === 'counters') {
        try {
          qc.setQueryData(['live', 'counters'], JSON.parse(e.data) as LiveCounters);
        } catch {
          return;
        }
      }
      const keys = INVALIDATES[e.event];
      if (keys) invalidate(keys);
      for (const l of listeners.current) l(e);
    };

    async function connect() {
      controller = new AbortController();
      const ctl = controller;
      let stall: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(stall);
        stall = setTimeout(() => ctl.abort(), STALL_MS);
      };
      setStatus('connecting');
      try {
        arm();
        const res = await fetch('/api/stream', {
          headers: { ...authHeaders(token), accept: 'text/event-stream' },
          signal: ctl.signal,
          cache: 'no-store',
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setStatus('live');
        backoff = 1000;
        const parser = createSseParser();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          arm();
          for (const e of parser.push(value)) dispatch(e);
        }
      } catch {
        // dropped, refused or stalled: reconnect below
      } finally {
        clearTimeout(stall);
      }
      if (stopped) return;
      setStatus('down');
      retry = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }

    void earlySettled.then(() => {
      if (!stopped) void connect();
    });
    return () => {
      stopped = true;
      clearTimeout(retry);
      controller?.abort();
    };
  }, [qc, token]);

  const subscribe = useCallback((l: Listener) => {
    listeners.current.add(l);
    return () => {
      listeners.current.delete(l);
    };
  }, []);
  const value = useMemo(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}

/** The newest fleet counters pushed by the stream (undefined until the first arrives). */
export function useLiveCounters(): LiveCounters | undefined {
  return useQuery<LiveCounters>({ queryKey: ['live', 'counters'], queryFn: skipToken }).data;
}

/** `ms` while the live stream is down, otherwise `whenLive` (default: no polling). */
export function usePollInterval(ms: number, whenLive: number | false = false): number | false {
  return useLive().status === 'live' ? whenLive : ms;
}

/** Calls `handler` for every live event named `event`. */
export function useLiveEvent(event: string, handler: (data: unknown) => void) {
  const { subscribe } = useLive();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(
    () =>
      subscribe((e) => {
        if (e.event !== event) return;
        try {
          ref.current(JSON.parse(e.data));
        } catch {
          // a malformed event is ignored; the next refetch corrects the view
        }
      }),
    [event, subscribe],
  );
}
