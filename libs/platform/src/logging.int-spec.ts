import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { CanActivate, Controller, ExecutionContext, Get, Injectable, Logger, Module, Param, UseGuards } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Envelope, TOPOLOGY } from '@orders/contracts';
import { MESSAGING_MIGRATIONS, MessagingModule, OnMessage, startConsumers } from '@orders/messaging';
import { migrateService, serviceDataSourceOptions } from '@orders/persistence';
import { createTestDatabase, deleteBrokerTopology, eventually, TEST_RABBITMQ_URL, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { createHttpApp } from './bootstrap';
import { describeMessage, PLATFORM_CODEC } from './messages';

/**
 * The log lines an operator greps: those of a handled message carry its order
 * id, message id and tenant; those of an HTTP request its order id and tenant;
 * none carries a customer's e-mail address, an API key or a URL's token.
 */
const SCHEMA = 'logs';
const RETRIES = [100];
const EMAIL = 'jane.doe@example.com';
const API_KEY = 'sk-live-4f9a8b7c6d5e';
let db: TestDatabase;
let prefix: string;
let app: NestFastifyApplication;
let bus: TestBus;
let base: string;
const lines: string[] = [];
const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

@Injectable()
class FakeAuth implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string>; tenantId?: string }>();
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return false;
    req.tenantId = 'acme';
    return true;
  }
}

@Controller()
class Chatty {
  private readonly logger = new Logger('Chatty');

  @OnMessage('inventory.commands', 'inventory.reserve.v1')
  reserve(@Payload() env: Envelope<'inventory.reserve.v1'>): void {
    this.logger.log(`reserving ${env.payload.items.length} line(s) for ${EMAIL}`);
    this.logger.warn({ msg: 'customer details', customer: { id: 'c-1', email: EMAIL }, authorization: `Bearer ${API_KEY}` });
  }

  @OnMessage('inventory.commands', 'inventory.commit.v1')
  commit(): void {}

  @OnMessage('inventory.commands', 'inventory.release.v1')
  release(): void {}

  @Get('orders/:id')
  @UseGuards(FakeAuth)
  find(@Param('id') id: string): { id: string } {
    this.logger.log(`looking up an order (customer ${EMAIL})`);
    return { id };
  }
}

before(async () => {
  db = await createTestDatabase('logs');
  prefix = uniqueName('t').toLowerCase();
  await migrateService({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS });
  @Module({
    imports: [
      TypeOrmModule.forRoot(serviceDataSourceOptions({ url: db.url, schema: SCHEMA, migrations: MESSAGING_MIGRATIONS })),
      MessagingModule.forRoot({
        rabbitmqUrl: TEST_RABBITMQ_URL, prefix, serviceName: 'logs-test', databaseUrl: db.url, schema: SCHEMA,
        ownQueues: ['inventory.commands'], retryDelaysMs: RETRIES, topology: TOPOLOGY, codec: PLATFORM_CODEC, describe: describeMessage,
        consumers: { defaultPrefetch: 4 },
      }),
    ],
    controllers: [Chatty],
    providers: [FakeAuth],
  })
  class TestModule {}
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  app = await createHttpApp(TestModule, { serviceName: 'logs-test', logLevel: 'debug', logJson: true, logDestination: sink });
  await startConsumers(app);
  await app.listen(0, '127.0.0.1');
  base = await app.getUrl();
  bus = await TestBus.connect(prefix);
});

after(async () => {
  await bus?.cleanup();
  await app?.close();
  await db?.drop();
  await deleteBrokerTopology(prefix, RETRIES);
});

test("every line of a handled message carries its order id, message id and tenant, and no e-mail address or key", async () => {
  const orderId = randomUUID();
  const env = await bus.publish('inventory.reserve.v1', { orderId, tenantId: 'acme', items: [{ sku: 'SKU-1', quantity: 1 }] });
  await eventually(() => records().filter((r) => r.messageId === env.id).length >= 2, 10000, 20, 'the handler logged');
  const mine = records().filter((r) => r.messageId === env.id);
  for (const r of mine) {
    assert.equal(r.orderId, orderId);
    assert.equal(r.tenant, 'acme');
    assert.equal(r.queue, 'inventory.commands');
  }
  assert.ok(mine.some((r) => String(r.msg).startsWith('reserving 1 line(s) for')), 'the handler line is there');
  assert.ok(mine.some((r) => r.msg === 'customer details' && (r.customer as { id?: string }).id === 'c-1'), 'the object line is there');
  assert.ok(!lines.some((l) => l.includes(EMAIL)), 'no e-mail address in any line');
  assert.ok(!lines.some((l) => l.includes(API_KEY)), 'no API key in any line');
});

test("an HTTP request's lines carry its order id and tenant, and never the Authorization header or the URL's token", async () => {
  const orderId = randomUUID();
  const res = await fetch(`${base}/orders/${orderId}?token=evt-secret-123`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(res.status, 200);
  await eventually(() => records().some((r) => r.orderId === orderId && (r.res as { statusCode?: number } | undefined)?.statusCode === 200), 5000, 20, 'request completed line');
  const mine = records().filter((r) => r.orderId === orderId);
  const handler = mine.find((r) => String(r.msg).startsWith('looking up an order'));
  assert.ok(handler, 'the handler line carries the order id');
  assert.equal(handler.tenant, 'acme');
  assert.match(String((handler.req as { id?: string }).id), /^[0-9a-f-]{36}$/, 'and the request id');
  const done = mine.find((r) => r.res)!;
  assert.equal(done.tenant, 'acme');
  assert.equal((done.req as { url: string }).url, `/orders/${orderId}`);
  for (const secret of [API_KEY, 'evt-secret-123', EMAIL]) assert.ok(!lines.some((l) => l.includes(secret)), `${secret} never logged`);
});
