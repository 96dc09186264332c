// GET /api/stream: Server-Sent Events for the dashboard (fleet counters, new
// and finished results, audit entries, execution progress; services/live.ts
// says what and how often). Auth is the usual `Authorization: Bearer` header,
// checked by the onRequest hook before this handler runs; the SPA reads the
// stream with fetch() because EventSource cannot send that header.
//
// Every signed-in account may open it (like /api/auth/me), and each event
// goes only to callers whose page allow-list includes the page that shows it:
// counters to everyone (Dashboard and Agents are always open), results and
// execution progress to Activity, audit entries to Audit.
//
// The reply is hijacked: an event stream must bypass @fastify/compress and
// serialization, and stays open until the browser leaves. A comment line
// every 15 s keeps proxies from timing the connection out and lets the
// browser notice a dead stream. A browser that stops reading (more than
// MAX_BUFFERED bytes queued) is disconnected rather than buffered without
// bound; it reconnects and refetches. Streams are ended before the server
// closes, so shutdown never waits on an open dashboard.
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../../services/index.js';
import type { LiveEvent } from '../../services/live.js';
import { selfService } from '../policy.js';

export const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED = 1024 * 1024;

/** The page an event belongs to; events without one go to every caller. */
const PAGE_OF: Partial<Record<LiveEvent['event'], string>> = {
  started: 'activity',
  results: 'activity',
  executions: 'activity',
  audit: 'audit',
};

export const streamRoutes: FastifyPluginAsyncZod<{ services: Services; heartbeatMs?: number }> = async (
  app,
  { services, heartbeatMs = HEARTBEAT_MS },
) => {
  const open = new Set<ServerResponse>();

  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    open.clear();
  });

  app.get(
    '/api/stream',
    {
      config: { policy: selfService() },
      schema: {
        summary:
          'Live events as Server-Sent Events: counters, started, results, executions and audit, batched per second',
        produces: ['text/event-stream'],
      },
    },
    async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      open.add(res);

      let closed = false;
      const write = (chunk: string) => {
        if (closed) return;
        if (res.writableLength > MAX_BUFFERED) {
          req.log.warn({ buffered: res.writableLength }, 'live stream client is not reading; disconnecting');
          res.destroy();
          return;
        }
        res.write(chunk);
      };
      const allowed = req.identity?.allowedFeatures ?? null;
      const send = (e: LiveEvent) => {
        const page = PAGE_OF[e.event];
        if (page && allowed && !(allowed as string[]).includes(page)) return;
        write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };

      write(`retry: 5000\n: kanade live stream\n\n`);
      const unsubscribe = services.live.subscribe(send);
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(res);
      };
      // The response's close (not the request's, which fires once the request is read) means the browser left.
      res.on('close', close);
    },
  );
};
