import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** `GET /orders/{id}/events`: its URL carries its own token, so any origin may read it. */
const EVENTS_PATH = /^\/orders\/[^/?]+\/events$/;
const REST_METHODS = 'GET, POST, OPTIONS';
const REST_HEADERS = 'Authorization, Content-Type, Idempotency-Key, Prefer';
const REST_EXPOSED = 'Location, Retry-After, Preference-Applied';
const EVENTS_HEADERS = 'Last-Event-ID, Accept, Cache-Control';
const MAX_AGE_SECONDS = '600';

/** `CORS_ORIGINS` (comma-separated) as a set; empty means no origin may call the REST API. */
export function parseCorsOrigins(raw: string): Set<string> {
  return new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

/**
 * CORS as the storefront contract says: the event stream answers any origin
 * (`*`, no credentials); the rest of the API answers only the configured
 * origins. Preflights (`OPTIONS` with `Access-Control-Request-Method`) are
 * answered here with `204`. Headers go on the raw response so the hijacked
 * SSE stream carries them too.
 */
export function installCors(fastify: FastifyInstance, origins: Set<string>): void {
  fastify.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
    const path = req.url.split('?')[0];
    const res = reply.raw;
    if (EVENTS_PATH.test(path)) {
      res.setHeader('access-control-allow-origin', '*');
      if (preflight) {
        res.setHeader('access-control-allow-methods', 'GET, OPTIONS');
        res.setHeader('access-control-allow-headers', EVENTS_HEADERS);
        res.setHeader('access-control-max-age', MAX_AGE_SECONDS);
      }
    } else {
      res.setHeader('vary', 'Origin');
      if (origin && origins.has(origin)) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-expose-headers', REST_EXPOSED);
        if (preflight) {
          res.setHeader('access-control-allow-methods', REST_METHODS);
          res.setHeader('access-control-allow-headers', REST_HEADERS);
          res.setHeader('access-control-max-age', MAX_AGE_SECONDS);
        }
      }
    }
    // A preflight never reaches the routes: an allowed origin reads the headers above, any other finds none.
    if (preflight) {
      reply.code(204).send();
      return;
    }
    done();
  });
}
