import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@orders/platform';
import nodemailer from 'nodemailer';
import { bootstrap } from './bootstrap';
import { MailCatcherEnv } from './config';
import { SmtpCatcher } from './messages/smtp-catcher';

let app: NestFastifyApplication;
let base: string;
let smtp: nodemailer.Transporter;

before(async () => {
  app = await bootstrap(loadConfig(MailCatcherEnv, { PORT: '0', SMTP_PORT: '0', HOST: '127.0.0.1', SMTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', MAX_MESSAGES: '5' }));
  base = await app.getUrl();
  smtp = nodemailer.createTransport({ host: '127.0.0.1', port: app.get(SmtpCatcher).port, secure: false, ignoreTLS: true });
});

after(async () => {
  smtp?.close();
  await app?.close();
});

beforeEach(async () => {
  assert.equal((await fetch(`${base}/api/v1/messages`, { method: 'DELETE' })).status, 200);
});

interface Summary { ID: string; MessageID: string; Read: boolean; From: { Name: string; Address: string }; To: Array<{ Name: string; Address: string }>; Bcc: Array<{ Address: string }>; Subject: string; Snippet: string; Created: string; Size: number }
interface Page { total: number; unread: number; count: number; messages_count: number; start: number; tags: string[]; messages: Summary[] }

const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const r = await fetch(`${base}${path}`);
  return { status: r.status, body: (await r.json()) as T };
};

test('a message sent over SMTP can be listed and read back in Mailpit\'s shape', async () => {
  await smtp.sendMail({
    from: '"Order Desk" <orders@shop.test>',
    to: '"Ada Lovelace" <ada@example.com>',
    bcc: 'audit@shop.test',
    subject: 'Your order is confirmed',
    messageId: '<o-1.CONFIRMED@orders.local>',
    text: 'Hello Ada,\n\n  2 x Widget   19.98 EUR',
    html: '<p>Hello Ada</p><table><tr><td>Widget</td></tr></table>',
  });
  const { status, body } = await get<Page>('/api/v1/messages');
  assert.equal(status, 200);
  assert.equal(body.total, 1);
  assert.equal(body.unread, 1);
  assert.equal(body.count, 1);
  assert.equal(body.messages_count, 1);
  assert.equal(body.start, 0);
  assert.deepEqual(body.tags, []);
  const m = body.messages[0];
  assert.equal(m.MessageID, 'o-1.CONFIRMED@orders.local');
  assert.deepEqual(m.From, { Name: 'Order Desk', Address: 'orders@shop.test' });
  assert.deepEqual(m.To, [{ Name: 'Ada Lovelace', Address: 'ada@example.com' }]);
  assert.deepEqual(m.Bcc.map((b) => b.Address), ['audit@shop.test']);
  assert.equal(m.Subject, 'Your order is confirmed');
  assert.equal(m.Snippet, 'Hello Ada, 2 x Widget 19.98 EUR');
  assert.equal(m.Read, false);
  assert.ok(m.Size > 100);
  assert.ok(!Number.isNaN(Date.parse(m.Created)));

  const full = await get<Summary & { Text: string; HTML: string; Date: string }>(`/api/v1/message/${m.ID}`);
  assert.equal(full.status, 200);
  assert.match(full.body.Text, /2 x Widget {3}19\.98 EUR/);
  assert.match(full.body.HTML, /<td>Widget<\/td>/);
  assert.equal(full.body.Subject, 'Your order is confirmed');
  assert.equal((await get<Page>('/api/v1/messages')).body.unread, 0, 'reading marks it read');
  assert.equal((await get<Summary>('/api/v1/message/latest')).body.ID, m.ID);
});

test('newest first, paged with start and limit, bounded to MAX_MESSAGES', async () => {
  for (let i = 1; i <= 7; i++) await smtp.sendMail({ from: 'a@shop.test', to: 'b@example.com', subject: `n${i}`, text: `body ${i}` });
  const all = await get<Page>('/api/v1/messages');
  assert.equal(all.body.total, 5, 'only the last 5 are kept');
  assert.deepEqual(all.body.messages.map((m) => m.Subject), ['n7', 'n6', 'n5', 'n4', 'n3']);
  const page = await get<Page>('/api/v1/messages?start=1&limit=2');
  assert.equal(page.body.start, 1);
  assert.equal(page.body.count, 2);
  assert.equal(page.body.total, 5);
  assert.deepEqual(page.body.messages.map((m) => m.Subject), ['n6', 'n5']);
  assert.equal((await get<{ message: string }>('/api/v1/messages?limit=zero')).status, 400);
});

test('DELETE clears the messages; an unknown id is 404', async () => {
  await smtp.sendMail({ from: 'a@shop.test', to: 'b@example.com', subject: 'gone soon', text: 'x' });
  assert.equal((await get<Page>('/api/v1/messages')).body.total, 1);
  const del = await fetch(`${base}/api/v1/messages`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.equal((await get<Page>('/api/v1/messages')).body.total, 0);
  assert.equal((await get<unknown>('/api/v1/message/nope')).status, 404);
});

test('health answers', async () => {
  assert.equal((await fetch(`${base}/health/live`)).status, 200);
  assert.equal((await fetch(`${base}/health/ready`)).status, 200);
});
