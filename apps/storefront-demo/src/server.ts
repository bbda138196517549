import { readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import Fastify, { FastifyInstance } from 'fastify';
import { OrdersApiError, OrdersClient } from '@orders/client';
import { CATALOGUE, PAYMENT_TOKENS } from './catalogue';
import { CheckoutDto, GatewayControlDto } from './checkout.dto';
import { StorefrontDemoEnv } from './config';
import { DemoError } from './demo.error';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Files served as they are: the page (public/) and the client's browser build (libs/client/dist/esm) under /client/. */
function loadStatic(): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  const add = (dir: string, prefix: string) => {
    for (const f of readdirSync(dir)) {
      if (TYPES[extname(f)]) files.set(`${prefix}${f}`, { type: TYPES[extname(f)], body: readFileSync(join(dir, f)) });
    }
  };
  add(join(__dirname, '..', 'public'), '/');
  add(join(dirname(require.resolve('@orders/client/package.json')), 'dist', 'esm'), '/client/');
  files.set('/', files.get('/index.html')!);
  return files;
}

/** Validates a JSON body against a class; a bad one is a 400 naming the fields. */
function parse<T extends object>(cls: new () => T, body: unknown): T {
  const dto = plainToInstance(cls, body ?? {});
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    throw new DemoError(400, 'Bad Request', 'invalid request', errors.map((e) => ({ field: e.property, errors: Object.values(e.constraints ?? {}) })));
  }
  return dto;
}

/**
 * The demo shop's backend: serves the page, holds the API key and places and
 * cancels orders through @orders/client; the page follows each order's
 * events straight from the storefront API (cross-origin, no key).
 */
export async function startServer(cfg: StorefrontDemoEnv): Promise<FastifyInstance> {
  const client = new OrdersClient({ baseUrl: cfg.ORDERS_API_URL, apiKey: cfg.API_KEY });
  const files = loadStatic();
  const app = Fastify({ logger: { level: cfg.LOG_LEVEL }, disableRequestLogging: true, bodyLimit: 16 * 1024 });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof DemoError) return reply.status(err.statusCode).send(err.body);
    if (err instanceof OrdersApiError) {
      const status = err.statusCode === 0 ? 502 : err.statusCode;
      return reply.status(status).send({ statusCode: status, error: err.error, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) app.log.error(err);
    return reply.status(status).send({ statusCode: status, error: status >= 500 ? 'Internal Server Error' : 'Bad Request', message: status >= 500 ? 'internal error' : (err as Error).message });
  });

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async () => ({ status: 'ok' }));

  const publicMailUrl = cfg.PUBLIC_MAIL_URL || cfg.MAIL_URL;
  app.get('/api/config', async () => ({ ordersApiUrl: cfg.PUBLIC_ORDERS_API_URL || cfg.ORDERS_API_URL, catalogue: CATALOGUE }));

  app.post('/api/orders', async (req, reply) => {
    const c = parse(CheckoutDto, req.body);
    const placed = await client.placeOrder(
      {
        customer: { id: c.email, email: c.email, ...(c.name ? { name: c.name } : {}) },
        items: [{ sku: c.sku, quantity: c.quantity }],
        shippingAddress: { line1: '1 Demo Street', city: 'Berlin', postalCode: '10115', country: 'DE' },
        payment: { token: PAYMENT_TOKENS[c.payment] },
      },
      { idempotencyKey: `demo-${c.checkoutId}` },
    );
    if (placed.final) return reply.status(200).send(placed.order);
    return reply.status(202).send(placed.accepted);
  });

  app.get<{ Params: { id: string } }>('/api/orders/:id', async (req) => client.getOrder(req.params.id));

  app.post<{ Params: { id: string } }>('/api/orders/:id/cancel', async (req, reply) => reply.status(202).send(await client.cancelOrder(req.params.id)));

  /** The order's emails in the mail catcher (their subjects name the order). */
  app.get<{ Params: { id: string } }>('/api/orders/:id/mail', async (req) => {
    const res = await fetch(`${cfg.MAIL_URL}/api/v1/messages?limit=200`).catch(() => undefined);
    if (!res?.ok) return { messages: [] };
    const page = (await res.json()) as { messages: Array<{ ID: string; Subject: string }> };
    return {
      messages: page.messages
        .filter((m) => m.Subject.includes(req.params.id))
        .map((m) => ({ id: m.ID, subject: m.Subject, url: `${publicMailUrl}/api/v1/message/${encodeURIComponent(m.ID)}` })),
    };
  });

  app.put('/api/gateway', async (req) => {
    const body = parse(GatewayControlDto, req.body);
    const res = await fetch(`${cfg.GATEWAY_URL}/control`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new DemoError(502, 'Bad Gateway', `payment gateway simulator answered ${res.status}`);
    return res.json();
  });

  app.get('/*', async (req, reply) => {
    const f = files.get(req.url.split('?')[0]);
    if (!f) throw new DemoError(404, 'Not Found', 'no such page');
    return reply.header('content-type', f.type).header('cache-control', 'no-cache').send(f.body);
  });

  await app.listen({ port: cfg.PORT, host: cfg.HOST });
  return app;
}
