/** One server-sent event as the wire carries it. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` body (as a fetch ReadableStream) into events,
 * per the HTML spec's rules: `data:` lines joined with newlines, comments
 * (`:`) ignored, an event dispatched on a blank line. `onRetry` receives the
 * server's `retry:` advice in milliseconds. Ends when the stream ends.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>, onRetry?: (ms: number) => void): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let cur: { id?: string; event?: string; data?: string } = {};
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
        if (buf[i] === '\r' && i === buf.length - 1) break; // maybe a \r\n split across chunks: wait for the next
        const line = buf.slice(0, i);
        buf = buf.slice(i + (buf.startsWith('\r\n', i) ? 2 : 1));
        if (line === '') {
          if (cur.data !== undefined) yield { id: cur.id, event: cur.event || 'message', data: cur.data };
          cur = {};
          continue;
        }
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (field === 'data') cur.data = cur.data === undefined ? val : `${cur.data}\n${val}`;
        else if (field === 'event') cur.event = val;
        else if (field === 'id' && !val.includes('\0')) cur.id = val;
        else if (field === 'retry' && /^\d+$/.test(val)) onRetry?.(Number(val));
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
