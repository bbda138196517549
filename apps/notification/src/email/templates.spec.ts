import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PayloadOf } from '@orders/contracts';
import { formatMoney, isNotifiable, reasonInWords, renderStatusEmail } from './templates';

type Event = Parameters<typeof renderStatusEmail>[0];
const event = (over: Partial<PayloadOf<'order.status-changed.v1'>> = {}): Event => ({
  orderId: '0b8f0a9e-6c1f-4a53-9b0e-1d2c3b4a5f60',
  tenantId: 'demo',
  status: 'CONFIRMED',
  sequence: 4,
  at: '2026-01-01T10:00:00.000Z',
  customer: { id: 'c1', email: 'ada@example.com', name: 'Ada <Lovelace>' },
  items: [
    { sku: 'WIDGET-1', quantity: 2, name: 'Widget', unitPriceCents: 999 },
    { sku: 'GADGET', quantity: 1, name: 'Gadget & Co', unitPriceCents: 2500 },
  ],
  totals: { subtotalCents: 4498, discountCents: 450, totalCents: 4048, currency: 'EUR' },
  couponCode: 'TENOFF',
  ...over,
}) as Event;

test('only final statuses get an email', () => {
  assert.deepEqual(['PENDING', 'PROCESSING', 'CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'].filter((s) => isNotifiable(s as 'PENDING')), ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED']);
});

test('money is formatted in the currency\'s minor units', () => {
  assert.equal(formatMoney(1998, 'EUR'), '€19.98');
  assert.equal(formatMoney(500, 'JPY'), '¥500');
  assert.equal(formatMoney(0, 'USD'), '$0.00');
});

test('a confirmation lists each line with quantity, unit price and line total, and the totals', () => {
  const m = renderStatusEmail(event());
  assert.equal(m.subject, 'Your order 0b8f0a9e-6c1f-4a53-9b0e-1d2c3b4a5f60 is confirmed');
  assert.match(m.text, /2 x Widget \(WIDGET-1\) @ €9\.99 = €19\.98/);
  assert.match(m.text, /1 x Gadget & Co \(GADGET\) @ €25\.00 = €25\.00/);
  assert.match(m.text, /Subtotal: €44\.98\nDiscount \(TENOFF\): -€4\.50\nTotal: €40\.48/);
  assert.match(m.html, /<td>Gadget &amp; Co \(GADGET\)<\/td><td>1<\/td><td>€25\.00<\/td><td>€25\.00<\/td>/);
  assert.match(m.html, /Hello Ada &lt;Lovelace&gt;,/, 'customer text is escaped in HTML');
  assert.doesNotMatch(m.text, /Reason/);
});

test('a rejection says why in words; unpriced lines and missing totals do not break it', () => {
  const m = renderStatusEmail(event({ status: 'REJECTED', reason: 'out_of_stock', items: [{ sku: 'WIDGET-1', quantity: 3 }], totals: undefined }));
  assert.equal(m.subject, 'Your order 0b8f0a9e-6c1f-4a53-9b0e-1d2c3b4a5f60 could not be completed');
  assert.match(m.text, /Reason: one or more items are out of stock\./);
  assert.match(m.text, /3 x WIDGET-1 @ - = -/);
  assert.match(m.html, /<strong>Reason: one or more items are out of stock\.<\/strong>/);
  assert.equal(reasonInWords('payment_declined'), 'your payment was declined');
  assert.equal(reasonInWords('some_new_reason'), 'some new reason');
});
