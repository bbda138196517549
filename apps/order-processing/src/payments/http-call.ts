import http from 'node:http';
import https from 'node:https';

/** What a call answered: its status and body text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** Thrown when the whole call (connect, request, answer) took longer than its timeout. */
export class HttpTimeout extends Error {
  override readonly name = 'TimeoutError';
}

// Kept-alive connections (closed after 4 s idle, before a typical server's 5 s): no handshake per call.
const AGENTS = { 'http:': new http.Agent({ keepAlive: true, timeout: 4000 }), 'https:': new https.Agent({ keepAlive: true, timeout: 4000 }) } as const;

/**
 * One HTTP request on a kept-alive connection, its answer read whole,
 * aborted (the socket destroyed) once `timeoutMs` has passed since it began.
 * Node's http module, not fetch: a call costs a fraction of the CPU.
 */
export function httpCall(url: URL, o: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number }): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? AGENTS['https:'] : AGENTS['http:'];
    const headers = o.body === undefined ? o.headers : { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) };
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    const req = lib.request(url, { method: o.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      const e = new HttpTimeout(`timed out after ${o.timeoutMs} ms`);
      fail(e);
      req.destroy(e);
    }, o.timeoutMs);
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', fail);
    req.end(o.body);
  });
}
