// The SSE parser the dashboard uses on /api/stream: events split across
// chunks, comments, multi-line data and every line ending.
import { describe, expect, it } from 'vitest';
import { createSseParser } from '../src/lib/sse.js';

describe('createSseParser', () => {
  it('parses named events and ignores comments', () => {
    const p = createSseParser();
    expect(p.push(': heartbeat\n\nevent: counters\ndata: {"known":1}\n\n')).toEqual([
      { event: 'counters', data: '{"known":1}' },
    ]);
  });

  it('joins an event split across chunks, even inside a CRLF', () => {
    const p = createSseParser();
    expect(p.push('event: audit\r')).toEqual([]);
    expect(p.push('\ndata: {"a"')).toEqual([]);
    expect(p.push(':1}\r\n\r\n')).toEqual([{ event: 'audit', data: '{"a":1}' }]);
  });

  it('joins multi-line data with newlines and defaults the event name', () => {
    const p = createSseParser();
    expect(p.push('data: one\ndata: two\r\rdata:x\n\n')).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'message', data: 'x' },
    ]);
  });

  it('skips events without data (retry lines, bare comments)', () => {
    const p = createSseParser();
    expect(p.push('retry: 5000\n: hello\n\n')).toEqual([]);
  });
});
