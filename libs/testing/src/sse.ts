export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  /** ms since the stream was opened */
  at: number;
}

/**
 * Reads a text/event-stream as a browser EventSource would (no custom
 * headers unless given), until the server closes it, `until` returns true or
 * the timeout passes. Returns the events and how the stream ended.
 */
export async function readSse(
  url: string,
  o: { headers?: Record<string, string>; timeoutMs?: number; until?: (e: SseEvent, all: SseEvent[]) => boolean } = {},
): Promise<{ status: number; contentType: string | null; events: SseEvent[]; closedByServer: boolean }> {
  const started = Date.now();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), o.timeoutMs ?? 15000);
  const events: SseEvent[] = [];
  let closedByServer = false;
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...(o.headers ?? {}) }, signal: ctl.signal });
    const contentType = res.headers.get('content-type');
    if (!res.ok || !res.body) return { status: res.status, contentType, events, closedByServer: true };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let cur: Partial<SseEvent> & { data?: string } = {};
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch {
        break; // aborted by timeout
      }
      if (chunk.done) {
        closedByServer = true;
        break;
      }
      buf += decoder.decode(chunk.value, { stream: true });
      let i: number;
      let stop = false;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        if (line === '') {
          if (cur.data !== undefined) {
            const e: SseEvent = { id: cur.id, event: cur.event ?? 'message', data: cur.data, at: Date.now() - started };
            events.push(e);
            if (o.until?.(e, events)) stop = true;
          }
          cur = {};
        } else if (!line.startsWith(':')) {
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
          if (field === 'data') cur.data = cur.data === undefined ? value : `${cur.data}\n${value}`;
          else if (field === 'id') cur.id = value;
          else if (field === 'event') cur.event = value;
        }
      }
      if (stop) {
        ctl.abort();
        break;
      }
    }
    return { status: res.status, contentType, events, closedByServer };
  } finally {
    clearTimeout(timer);
  }
}
