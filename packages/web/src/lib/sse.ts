// An incremental Server-Sent Events parser for fetch() streaming. The SPA
// reads /api/stream with fetch rather than EventSource because EventSource
// cannot send the Authorization header. Follows the WHATWG event-stream
// rules the backend uses: `event:`, `data:` (joined with newlines), `id:`,
// comment lines starting with `:`, events ended by a blank line, any of
// CRLF / LF / CR as line ends.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export function createSseParser() {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;

  function line(l: string, out: SseEvent[]) {
    if (l === '') {
      if (data.length > 0)
        out.push({ event: event || 'message', data: data.join('\n'), ...(id ? { id } : {}) });
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }

  return {
    /** Feeds a decoded chunk; returns the events it completed. */
    push(chunk: string): SseEvent[] {
      buffer += chunk;
      const out: SseEvent[] = [];
      for (;;) {
        const m = /\r\n|\n|\r/.exec(buffer);
        if (!m) break;
        // A lone CR at the very end may be the first half of CRLF: wait for more.
        if (m[0] === '\r' && m.index === buffer.length - 1) break;
        line(buffer.slice(0, m.index), out);
        buffer = buffer.slice(m.index + m[0].length);
      }
      return out;
    },
  };
}
