import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { PayloadOf } from '@orders/contracts';
import { Messaging } from '@orders/messaging';
import { loadConfig } from '@orders/platform';
import { createTestDatabase, deleteBrokerTopology, eventually, handledCount, statementsSent, TestBus, TestDatabase, uniqueName } from '@orders/testing';
import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { SMTPServer } from 'smtp-server';
import { bootstrap } from '../bootstrap';
import { NotificationEnv } from '../config';

interface Mail { messageId: string; to: string; subject: string; text: string; html: string }

/** A real SMTP server that keeps what it receives and can be stopped and started again on the same port. */
class TestSmtp {
  readonly mails: Mail[] = [];
  private server?: SMTPServer;
  port = 0;

  async start(): Promise<void> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, _session, done) => {
        simpleParser(stream).then((m) => {
          const to = Array.isArray(m.to) ? m.to[0] : m.to;
          this.mails.push({ messageId: m.messageId ?? '', to: to?.value[0]?.address ?? '', subject: m.subject ?? '', text: m.text ?? '', html: String(m.html || '') });
          done();
        }, done);
      },
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server!.close(resolve));
  }

  for(orderId: string): Mail[] {
    return this.mails.filter((m) => m.messageId.startsWith(`<${orderId}.`));
  }
}

let db: TestDatabase;
let cfg: NotificationEnv;
let app: NestFastifyApplication;
let bus: TestBus;
let pg: Client;
const smtp = new TestSmtp();
/** Deliveries of status events the email consumer has acknowledged (each after its email, if any, went out). */
const emailsAcked = () => handledCount('notification.email', 'order.status-changed.v1');

before(async () => {
  await smtp.start();
  db = await createTestDatabase('notif');
  cfg = loadConfig(NotificationEnv, {
    DATABASE_URL: db.url, MQ_PREFIX: uniqueName('t').toLowerCase(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error',
    RETRY_DELAYS_MS: '200,400,800,1600,3200', SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SMTP_TIMEOUT_MS: '2000',
    MAIL_FROM: '"Test Shop" <shop@example.test>',
  });
  app = await bootstrap(cfg);
  bus = await TestBus.connect(cfg.MQ_PREFIX);
  pg = new Client({ connectionString: db.url });
  await pg.connect();
});

after(async () => {
  await pg?.end();
  await bus?.cleanup();
  await app?.close();
  await smtp.stop().catch(() => undefined);
  await db?.drop();
  await deleteBrokerTopology(cfg.MQ_PREFIX, cfg.retryDelaysMs);
});

const statusEvent = (over: Partial<PayloadOf<'order.status-changed.v1'>> = {}): PayloadOf<'order.status-changed.v1'> => ({
  orderId: randomUUID(),
  tenantId: 'demo',
  status: 'CONFIRMED',
  sequence: 4,
  at: new Date().toISOString(),
  customer: { id: 'c1', email: 'ada@example.com', name: 'Ada' },
  items: [
    { sku: 'WIDGET-1', quantity: 2, name: 'Widget', unitPriceCents: 999 },
    { sku: 'GADGET', quantity: 1, name: 'Gadget', unitPriceCents: 2500 },
  ],
  totals: { subtotalCents: 4498, discountCents: 0, totalCents: 4498, currency: 'EUR' },
  ...over,
});

async function handledIds(ids: string[]): Promise<number> {
  const r = await pg.query("SELECT count(*)::int AS n FROM notification.inbox WHERE message_id = ANY($1::uuid[]) AND queue = 'notification.email'", [ids]);
  return r.rows[0].n as number;
}

async function emailRow(orderId: string): Promise<{ status: string; attempts: number; sent_at: Date | null } | undefined> {
  const r = await pg.query('SELECT status, attempts, sent_at FROM notification.emails WHERE order_id = $1', [orderId]);
  return r.rows[0];
}

test('a confirmed order sends the customer one email with its lines and total', async () => {
  const e = statusEvent();
  await bus.publish('order.status-changed.v1', e);
  const [mail] = await eventually(() => (smtp.for(e.orderId).length === 1 ? smtp.for(e.orderId) : undefined), 10000, 50, 'the email');
  assert.equal(mail.to, 'ada@example.com');
  assert.equal(mail.subject, `Your order ${e.orderId} is confirmed`);
  assert.equal(mail.messageId, `<${e.orderId}.CONFIRMED@orders.local>`);
  assert.match(mail.text, /2 x Widget \(WIDGET-1\) @ €9\.99 = €19\.98/);
  assert.match(mail.text, /Total: €44\.98/);
  assert.match(mail.html, /<td>Widget \(WIDGET-1\)<\/td><td>2<\/td><td>€9\.99<\/td>/);
  // sent_at is written with the COMMIT that follows the send
  await eventually(async () => (await emailRow(e.orderId))?.sent_at, 10000, 20, 'marked sent');
});

test('a redelivered event and a second event for the same order and status still send one email', async () => {
  const e = statusEvent({ status: 'REJECTED', reason: 'payment_declined' });
  const ackedBefore = await emailsAcked();
  const first = await bus.publish('order.status-changed.v1', e);
  await bus.publish('order.status-changed.v1', e, { id: first.id });
  const second = await bus.publish('order.status-changed.v1', { ...e, at: new Date().toISOString() });
  await eventually(async () => (await handledIds([first.id, second.id])) === 2, 10000, 50, 'both events handled');
  // all three deliveries done (a handler acknowledges after its send): a second email would be in by now
  await eventually(async () => (await emailsAcked()) >= ackedBefore + 3, 10000, 20, 'three deliveries acknowledged');
  const mails = smtp.for(e.orderId);
  assert.equal(mails.length, 1);
  assert.match(mails[0].text, /Reason: your payment was declined\./);
  assert.equal(mails[0].subject, `Your order ${e.orderId} could not be completed`);
});

test('non-final statuses never reach the email queue (routed by status): only the final one is delivered, and emailed', async () => {
  const e = statusEvent({ status: 'PROCESSING', sequence: 2 });
  const ackedBefore = await emailsAcked();
  await bus.publish('order.status-changed.v1', e);
  await bus.publish('order.status-changed.v1', { ...e, status: 'PENDING', sequence: 1 });
  await bus.publish('order.status-changed.v1', { ...e, status: 'CANCELLED', sequence: 3 });
  await eventually(() => smtp.for(e.orderId).length === 1, 10000, 20, 'the final status emailed');
  // the send comes before the COMMIT and the ack: wait for the ack, then count (two more deliveries, queued ahead of it, would be in)
  await eventually(async () => (await emailsAcked()) >= ackedBefore + 1, 10000, 20, "the final status's delivery acknowledged");
  assert.equal(await emailsAcked(), ackedBefore + 1, 'one delivery: the final status');
  assert.deepEqual(smtp.for(e.orderId).map((m) => m.messageId), [`<${e.orderId}.CANCELLED@orders.local>`]);
  const rows = await pg.query('SELECT status FROM notification.emails WHERE order_id = $1', [e.orderId]);
  assert.deepEqual(rows.rows.map((r) => r.status), ['CANCELLED']);
  assert.equal(await bus.queueDepth(`${cfg.MQ_PREFIX}.notification.email`), 0);
});

test('while SMTP is down the event waits (deferred, however many tries: no dead letter), and the email goes out once SMTP is back', async () => {
  await smtp.stop();
  const e = statusEvent({ status: 'FAILED' });
  const ackedBefore = await emailsAcked();
  await bus.publish('order.status-changed.v1', e);
  // more tries than RETRY_DELAYS_MS allows attempts: an outage must not use them up
  await eventually(async () => ((await emailRow(e.orderId))?.attempts ?? 0) >= 7, 20000, 50, 'seven failed tries');
  assert.equal(await bus.queueDepth(`${cfg.MQ_PREFIX}.notification.email.dlq`), 0, 'not dead-lettered during the outage');
  const row = await emailRow(e.orderId);
  assert.equal(row?.sent_at, null);
  assert.equal(smtp.for(e.orderId).length, 0);
  await smtp.start();
  await eventually(() => smtp.for(e.orderId).length === 1, 10000, 50, 'the email after SMTP is back');
  await eventually(async () => (await emailRow(e.orderId))?.sent_at, 5000, 50, 'marked sent');
  await eventually(async () => (await emailsAcked()) >= ackedBefore + 1, 10000, 20, 'the delivery acknowledged, no copy left to come back');
  assert.equal(smtp.for(e.orderId).length, 1);
  assert.equal(await bus.queueDepth(`${cfg.MQ_PREFIX}.notification.email.dlq`), 0, 'nothing dead-lettered');
});

test('an email recorded but left unsent by a crash is sent at start-up, with its deterministic Message-ID', async () => {
  await app.close();
  const orderId = randomUUID();
  await pg.query(
    `INSERT INTO notification.emails (order_id, status, tenant_id, recipient, subject, text_body, html_body, message_id)
     VALUES ($1, 'CONFIRMED', 'demo', 'bob@example.com', 'Your order is confirmed', 'text', '<p>html</p>', $2)`,
    [orderId, `<${orderId}.CONFIRMED@orders.local>`],
  );
  app = await bootstrap(cfg);
  const [mail] = await eventually(() => (smtp.for(orderId).length === 1 ? smtp.for(orderId) : undefined), 10000, 50, 'the resent email');
  assert.equal(mail.to, 'bob@example.com');
  assert.equal(mail.messageId, `<${orderId}.CONFIRMED@orders.local>`);
  await eventually(async () => (await emailRow(orderId))?.sent_at, 5000, 50, 'marked sent');
});

test('ready once its database and the broker answer', async () => {
  const res = await fetch(`${await app.getUrl()}/health/ready`);
  assert.equal(res.status, 200);
});

test('/metrics shows a consumer on each of its queues (email and webhooks)', async () => {
  const base = await app.getUrl();
  await eventually(async () => {
    const t = await (await fetch(`${base}/metrics`)).text();
    return /^orders_queue_consumers\{queue="notification.email"\} 1$/m.test(t) && /^orders_queue_consumers\{queue="notification.webhooks"\} 1$/m.test(t);
  }, 5000, 100, 'a consumer on both queues');
});

test('the inbox is pruned past its de-duplication window (notification publishes nothing, yet prunes)', async () => {
  const old = randomUUID();
  const recent = randomUUID();
  await pg.query(
    `INSERT INTO notification.inbox (message_id, queue, processed_at) VALUES ($1, 'notification.email', now() - interval '200 hours'), ($2, 'notification.email', now())`,
    [old, recent],
  );
  assert.ok((await app.get(Messaging).pruneInbox()) >= 1);
  const left = await pg.query('SELECT message_id FROM notification.inbox WHERE message_id = ANY($1::uuid[])', [[old, recent]]);
  assert.deepEqual(left.rows.map((r: { message_id: string }) => r.message_id), [recent]);
});

test('an email costs its event two round trips to the database: the inbox and email rows, then sent with the COMMIT', async () => {
  const e = statusEvent();
  const sent = (await statementsSent(async () => {
    await bus.publish('order.status-changed.v1', e);
    await eventually(async () => (await emailRow(e.orderId))?.sent_at, 10000, 50, 'sent and recorded');
  })).filter((s) => s.client !== pg).map((s) => s.text); // the service's, not this test's
  assert.equal(smtp.for(e.orderId).length, 1);
  // a connection's first use of a statement prepares it, once, in a round trip of its own (libs/persistence, prepared.ts)
  const steps = sent.filter((q) => !q.startsWith('PREPARE '));
  assert.equal(steps.length, 2, `statements sent by the service for the email:\n${sent.join('\n---\n')}`);
});
