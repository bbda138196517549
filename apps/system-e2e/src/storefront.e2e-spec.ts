import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { TcpProxy } from '@orders/testing';
import { Api, ROOT, SERVICE_NAMES, System } from './system';

/**
 * The demo shop in headless Chromium: the page (its own origin) follows each
 * order straight from the storefront API (another origin), so CORS, the
 * preflight of Last-Event-ID and the browser build of @orders/client are all
 * on the path. The shop talks to the API through a TCP proxy the test can cut.
 */
/** The page's DOM, as seen by functions that run in the browser (this project compiles without the DOM library). */
declare const document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { textContent: string | null } | null };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const ARTIFACTS = join(ROOT, 'apps', 'system-e2e', 'artifacts');

let sys: System;
let proxy: TcpProxy;
let browser: Browser;
let page: Page;
const pageProblems: string[] = [];

before(async () => {
  const serviceEnv: Record<string, Record<string, string>> = {};
  sys = new System({ env: { RETRY_DELAYS_MS: '200,500', LOG_LEVEL: 'warn' }, serviceEnv });
  await sys.init();
  proxy = new TcpProxy('127.0.0.1', sys.ports['order-receiving']);
  await proxy.start();
  serviceEnv['storefront-demo'] = { ORDERS_API_URL: `http://127.0.0.1:${proxy.port}` };
  await Promise.all(SERVICE_NAMES.map((n) => sys.launch(n)));
  await Promise.all(SERVICE_NAMES.map((n) => sys.waitReady(n)));
  const api = new Api(sys);
  await api.putProduct('SKU-TSHIRT', { name: 'T-shirt', priceCents: 1999, currency: 'EUR', stock: 100 });
  await api.putProduct('SKU-MUG', { name: 'Mug', priceCents: 899, currency: 'EUR', stock: 100 });
  await api.putProduct('SKU-POSTER', { name: 'Signed poster', priceCents: 4999, currency: 'EUR', stock: 100 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') pageProblems.push(m.text());
  });
  page.on('pageerror', (e) => pageProblems.push(e.message));
  await page.goto(sys.url('storefront-demo'));
  await page.waitForSelector('body[data-ready="true"]');
});

after(async () => {
  if (page) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'storefront-demo.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    console.log(`screenshot: ${shot}`);
  }
  await browser?.close();
  await proxy?.stop();
  await sys?.stop();
});

/** Places an order from the page as a shopper would and returns its id. */
async function placeFromPage(o: { sku: string; payment: 'approve' | 'decline'; email: string }): Promise<string> {
  const before = await page.locator('#orders > li').count();
  await page.check(`input[name="sku"][value="${o.sku}"]`);
  await page.check(`input[name="payment"][value="${o.payment}"]`);
  await page.fill('#email', o.email);
  await page.click('#place');
  await page.waitForFunction((n) => document.querySelectorAll('#orders > li[data-order-id]').length > n, before);
  const id = await page.locator('#orders > li').first().getAttribute('data-order-id');
  assert.ok(id);
  return id;
}

/** A fetch run inside the browser page: 'blocked' when CORS refuses it. */
async function browserFetch(p: Page, url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) {
  return p.evaluate(
    async ({ url, init }) => {
      try {
        const res = await fetch(url, init);
        const stream = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
        const body = stream ? (await res.body?.cancel(), '') : await res.text(); // a stream is only opened, not read
        return { status: res.status, location: res.headers.get('location'), body };
      } catch {
        return 'blocked';
      }
    },
    { url, init },
  );
}

const order = (id: string) => page.locator(`li[data-order-id="${id}"]`);
const historyOf = async (id: string) => (await order(id).locator('.history li').allTextContents()).map((t) => t.split(/ /)[0]);
const waitFinal = (id: string, status: string) =>
  page.waitForSelector(`li[data-order-id="${id}"][data-final="${status}"]`, { timeout: 45000 }).catch((e: Error) => {
    // what the services said meanwhile (LOG_LEVEL=warn: their warnings and errors) goes with the failure
    throw new Error(`${e.message}\n${SERVICE_NAMES.map((n) => `--- ${n}\n${sys.recentLogs(n, 30)}`).join('\n')}`);
  });

test('the page is on another origin than the API it follows', () => {
  assert.notEqual(new URL(page.url()).origin, new URL(`http://127.0.0.1:${proxy.port}`).origin);
});

test('the REST API answers the shop\'s origin (CORS_ORIGINS) and refuses another; the events URL answers any origin', async () => {
  const api = `http://127.0.0.1:${proxy.port}`;
  const post = {
    method: 'POST',
    headers: { authorization: 'Bearer demo-key', 'content-type': 'application/json', 'idempotency-key': `browser-${Date.now()}` },
    body: JSON.stringify({
      customer: { id: 'c-browser', email: 'cors@example.com' }, items: [{ sku: 'SKU-MUG', quantity: 1 }],
      shippingAddress: { line1: '1 Way', city: 'Berlin', postalCode: '10115', country: 'DE' }, payment: { token: 'tok_ok' },
    }),
  };
  const placed = await browserFetch(page, `${api}/orders`, post); // preflighted: custom headers, JSON
  assert.notEqual(placed, 'blocked');
  assert.equal(typeof placed === 'object' && placed.status, 202);
  assert.match(typeof placed === 'object' ? placed.location ?? '' : '', /^\/orders\//, 'Location is exposed');

  const other = await browser.newPage(); // the mail catcher's origin is not in CORS_ORIGINS
  try {
    await other.goto(`${sys.url('mail-catcher')}/api/v1/messages`);
    assert.equal(await browserFetch(other, `${api}/orders`, { headers: { authorization: 'Bearer demo-key' } }), 'blocked');
    const links = (JSON.parse(typeof placed === 'object' ? placed.body : '{}') as { links: { events: string } }).links;
    const stream = await browserFetch(other, `${api}${links.events}`, { headers: { 'last-event-id': '1' } }); // preflighted too
    assert.equal(typeof stream === 'object' && stream.status, 200);
  } finally {
    await other.close();
  }
});

test('a confirmed order: the page shows PENDING → PROCESSING → CONFIRMED live, with the total and a link to the email', async () => {
  const id = await placeFromPage({ sku: 'SKU-MUG', payment: 'approve', email: 'browser-ok@example.com' });
  await waitFinal(id, 'CONFIRMED');
  assert.equal(await order(id).locator('.status').textContent(), 'CONFIRMED');
  assert.deepEqual(await historyOf(id), ['PENDING', 'PROCESSING', 'CONFIRMED']);
  assert.match((await order(id).locator('.total').textContent()) ?? '', /8\.99/);
  await page.waitForSelector(`li[data-order-id="${id}"] .mail a`, { timeout: 30000 });
  assert.match((await order(id).locator('.mail a').first().textContent()) ?? '', new RegExp(id));
  assert.equal(await order(id).locator('.cancel').isDisabled(), true);
});

test('a declined card: the page shows REJECTED with the reason', async () => {
  const id = await placeFromPage({ sku: 'SKU-TSHIRT', payment: 'decline', email: 'browser-declined@example.com' });
  await waitFinal(id, 'REJECTED');
  assert.deepEqual(await historyOf(id), ['PENDING', 'PROCESSING', 'REJECTED']);
  assert.match((await order(id).locator('.reason').textContent()) ?? '', /payment declined/);
});

test('gateway down and the page\'s stream cut: it resumes (Last-Event-ID, cross-origin), and a cancel shows CANCELLED once', async () => {
  await page.click('[data-gateway="down"]');
  await page.waitForSelector('#gateway-state:text("down")');
  try {
    const id = await placeFromPage({ sku: 'SKU-POSTER', payment: 'approve', email: 'browser-cancel@example.com' });
    await page.waitForFunction((oid) => document.querySelector(`li[data-order-id="${oid}"] .status`)?.textContent === 'PROCESSING', id, { timeout: 30000 });
    proxy.refuse(true);
    proxy.dropAll(); // the page's event stream is cut
    await page.waitForSelector(`li[data-order-id="${id}"] .error:text("resuming")`);
    proxy.refuse(false);
    await order(id).locator('.cancel').click();
    await waitFinal(id, 'CANCELLED');
    assert.deepEqual(await historyOf(id), ['PENDING', 'PROCESSING', 'CANCELLED']);
    assert.equal(await order(id).locator('.error').textContent(), '');
  } finally {
    await page.click('[data-gateway="normal"]');
    await page.waitForSelector('#gateway-state:text("normal")');
  }
  assert.deepEqual(pageProblems.filter((p) => /CORS|Access-Control/i.test(p)), [], 'no CORS errors in the page');
});
