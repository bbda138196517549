import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { Envelope, TOPOLOGY } from '@orders/contracts';
import { MESSAGING_MIGRATIONS, MessagingModule, OnMessage, startConsumers, UnitOfWork } from '@orders/messaging';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TEST_RABBITMQ_URL, TestDatabase, uniqueName } from '@orders/testing';
import { Writable } from 'node:stream';
import { createHttpApp } from './bootstrap';
import { describeMessage, PLATFORM_CODEC } from './messages';
import { setupTracing, tracingConfigured, tracingEnabled, withClientSpan } from './tracing';

/**
 * One trace from a storefront's POST through the outbox, the broker and the
 * consumer to the payment gateway's HTTP call: every span, and the gateway's
 * incoming traceparent, share the caller's trace id. Spans go to an
 * in-memory exporter.
 */
const SCHEMA = 'tracing';
const RETRIES = [100];
const exporter = new InMemorySpanExporter();
let db: TestDatabase;
let prefix: string;
let app: NestFastifyApplication;
let base: string;
let gateway: Server;
let gatewayUrl: string;
const gatewaySaw: IncomingHttpHeaders[] = [];

@Controller()
class Shop {
  constructor(private readonly uow: UnitOfWork) {}

  @Post('orders')
  @HttpCode(202)
  async place(@Body() body: { orderId: string }): Promise<{ id: string }> {
    await this.uow.transaction(async (tx) => tx.publish('inventory.reserve.v1', { orderId: body.orderId, tenantId: 'acme', items: [{ sku: 'SKU-1', quantity: 1 }] }));
    return { id: body.orderId };
  }

  @OnMessage('inventory.commands', 'inventory.reserve.v1')
  async reserve(@Payload() _env: Envelope<'inventory.reserve.v1'>): Promise<void> {
    await withClientSpan('payment-gateway POST /authorizations', (headers) => fetch(`${gatewayUrl}/authorizations`, { method: 'POST', headers }).then((r) => r.text()));
  }

  @OnMessage('inventory.commands', 'inventory.commit.v1')
  commit(): void {}

  @OnMessage('inventory.commands', 'inventory.release.v1')
  release(): void {}
}

before(async () => {
  assert.equal(tracingConfigured({}), false, 'off without OTEL_* settings');
  assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), false);
  assert.equal(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
  assert.equal(tracingEnabled(), false);
  setupTracing('tracing-test', {}, exporter);

  gateway = createServer((req, res) => {
    gatewaySaw.push(req.headers);
    res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as { port: number }).port}`;

  db = await createTestDatabase('tracing');
  prefix = uniqueName('t').toLowerCase();
  await migrateService({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS })),
      MessagingModule.forRoot({
        rabbitmqUrl: TEST_RABBITMQ_URL, prefix, serviceName: 'tracing-test', databaseUrl: db.url, schema: SCHEMA,
        ownQueues: ['inventory.commands'], retryDelaysMs: RETRIES, topology: TOPOLOGY, codec: PLATFORM_CODEC, describe: describeMessage,
        consumers: { defaultPrefetch: 4 },
      }),
    ],
    controllers: [Shop],
  })
  class TestModule {}
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  app = await createHttpApp(TestModule, { serviceName: 'tracing-test', logLevel: 'error', logJson: true, logDestination: quiet });
  await startConsumers(app);
  await app.listen(0, '127.0.0.1');
  base = await app.getUrl();
});

after(async () => {
  await app?.close();
  await new Promise((r) => gateway?.close(r));
  await db?.drop();
  await deleteBrokerTopology(prefix, RETRIES);
});

test('the caller\'s trace continues through the outbox and the broker to the gateway call', async () => {
  const traceId = randomBytes(16).toString('hex');
  const orderId = randomUUID();
  const res = await fetch(`${base}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    body: JSON.stringify({ orderId }),
  });
  assert.equal(res.status, 202);
  await eventually(() => gatewaySaw.length === 1, 10000, 20, 'the gateway call');
  assert.match(String(gatewaySaw[0].traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), 'the gateway sees the same trace');

  const spans = await eventually(() => {
    const mine = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    return mine.length >= 3 ? mine : undefined;
  }, 5000, 20, 'three spans of the trace');
  const names = spans.map((s) => s.name);
  assert.ok(names.includes('POST /orders'), `server span: ${names}`);
  assert.ok(names.includes('inventory.commands process inventory.reserve.v1'), `consumer span: ${names}`);
  assert.ok(names.includes('payment-gateway POST /authorizations'), `client span: ${names}`);
  const server = spans.find((s) => s.name === 'POST /orders')!;
  const consumer = spans.find((s) => s.name.startsWith('inventory.commands'))!;
  const client = spans.find((s) => s.name.startsWith('payment-gateway'))!;
  assert.equal(consumer.parentSpanContext?.spanId, server.spanContext().spanId, 'the consumer continues the request that wrote the outbox row');
  assert.equal(client.parentSpanContext?.spanId, consumer.spanContext().spanId, 'the gateway call is part of the handling');
});
