import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { AddressPolicy, resolveTarget } from './address-guard';
import type { Resolver } from './resolver';

/** Response bodies are kept only as this many characters. */
export const EXCERPT_CHARS = 256;

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: AddressPolicy;
  /** How the host is resolved (tests); the system's DNS by default. */
  resolve?: Resolver;
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
 * the address that was judged (no second DNS answer can slip in). One
 * timeout covers the whole attempt (lookup, connect, send, response headers
 * and excerpt) and aborts it. Redirects are not followed. Never throws.
 */
export async function postWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (error: string): WebhookResponse => ({ statusCode: null, latencyMs: elapsed(), excerpt: null, error });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), req.timeoutMs);
  try {
    let url: URL;
    let pinned: { address: string; family: 4 | 6 };
    try {
      url = new URL(req.url);
      pinned = (await resolveTarget(url, req.policy, { resolve: req.resolve, signal: ac.signal })).addresses[0];
    } catch (e) {
      return failed(ac.signal.aborted ? `timed out after ${req.timeoutMs} ms (resolving the host)` : (e as Error).message);
    }
    const lookup: LookupFunction = (_host, opts, cb) => {
      if (opts.all) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [pinned]);
      else cb(null, pinned.address, pinned.family);
    };
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
      r.on('error', (e: NodeJS.ErrnoException) => resolve(failed(ac.signal.aborted ? `timed out after ${req.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`)));
      r.end(req.body);
    });
  } finally {
    clearTimeout(timer);
  }
}
