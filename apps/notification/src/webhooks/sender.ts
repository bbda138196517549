import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { AddressPolicy, resolveTarget } from './address-guard';

/** Response bodies are kept only as this many characters. */
export const EXCERPT_CHARS = 256;

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: AddressPolicy;
}

export interface WebhookResponse {
  /** null when no response arrived (refused address, connection error, timeout). */
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
}

/**
 * One POST to a tenant's endpoint. The host is resolved and judged by the
 * address guard right before the call, and the connection goes to exactly
 * the address that was judged (no second DNS answer can slip in). The
 * timeout covers the whole exchange and aborts the request. Redirects are
 * not followed. Never throws.
 */
export async function postWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  let pinned: { address: string; family: 4 | 6 };
  try {
    url = new URL(req.url);
    pinned = (await resolveTarget(url, req.policy)).addresses[0];
  } catch (e) {
    return { statusCode: null, latencyMs: elapsed(), excerpt: null, error: (e as Error).message };
  }
  const lookup: LookupFunction = (_host, opts, cb) => {
    if (opts.all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), req.timeoutMs);
  try {
    return await new Promise<WebhookResponse>((resolve) => {
      const client = url.protocol === 'https:' ? https : http;
      const r = client.request(
        url,
        {
          method: 'POST',
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          lookup,
          agent: false,
          signal: ac.signal,
        },
        (res) => {
          const latencyMs = elapsed();
          let text = '';
          const done = () => {
            res.destroy();
            resolve({ statusCode: res.statusCode ?? null, latencyMs, excerpt: text ? text.slice(0, EXCERPT_CHARS) : null, error: null });
          };
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.length >= EXCERPT_CHARS) done();
          });
          res.on('end', done);
          res.on('error', done);
        },
      );
      r.on('error', (e: NodeJS.ErrnoException) => {
        const error = ac.signal.aborted ? `timed out after ${req.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`;
        resolve({ statusCode: null, latencyMs: elapsed(), excerpt: null, error });
      });
      r.end(req.body);
    });
  } finally {
    clearTimeout(timer);
  }
}
