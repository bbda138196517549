import type { OrderStatus, PayloadOf } from '@orders/contracts';

/** A status event of an order whose customer is known. */
type StatusEvent = PayloadOf<'order.status-changed.v1'> & { customer: NonNullable<PayloadOf<'order.status-changed.v1'>['customer']> };

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const HEADLINES: Partial<Record<OrderStatus, { subject: string; intro: string }>> = {
  CONFIRMED: { subject: 'is confirmed', intro: 'Thank you! Your order is confirmed and on its way to being packed.' },
  REJECTED: { subject: 'could not be completed', intro: 'We are sorry: we could not complete your order.' },
  FAILED: { subject: 'could not be processed', intro: 'We are sorry: a technical problem stopped us from processing your order. You have not been charged.' },
  CANCELLED: { subject: 'has been cancelled', intro: 'Your order has been cancelled as requested. You have not been charged.' },
};

const REASONS: Record<string, string> = {
  out_of_stock: 'one or more items are out of stock',
  unknown_product: 'one or more items are no longer sold',
  mixed_currency: 'the items are priced in different currencies',
  payment_declined: 'your payment was declined',
  invalid_coupon: 'the coupon code is not valid',
  coupon_expired: 'the coupon code has expired',
  coupon_exhausted: 'the coupon code has been used up',
  reservation_expired: 'the items were held for too long and were released',
};

/** A rejection reason code in plain words (unknown codes are de-underscored). */
export function reasonInWords(code: string): string {
  return REASONS[code] ?? code.replace(/[_-]+/g, ' ');
}

/** One formatter per currency: building an Intl.NumberFormat costs far more than using one (a CPU profile of notification under a flood). */
const formats = new Map<string, { fmt: Intl.NumberFormat; digits: number }>();

/** Integer minor units as money, e.g. 1998 EUR → "€19.98", 500 JPY → "¥500". */
export function formatMoney(minor: number, currency: string): string {
  let f = formats.get(currency);
  if (!f) {
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    f = { fmt, digits: fmt.resolvedOptions().maximumFractionDigits ?? 2 };
    if (formats.size < 300) formats.set(currency, f); // ISO 4217 has fewer; a bad code threw above
  }
  return f.fmt.format(minor / 10 ** f.digits);
}

export function isNotifiable(status: OrderStatus): boolean {
  return HEADLINES[status] !== undefined;
}

/** The customer email for a final status: a plain-text and an HTML part with the order's lines and totals. */
export function renderStatusEmail(e: StatusEvent): RenderedEmail {
  const h = HEADLINES[e.status];
  if (!h) throw new Error(`no email for status ${e.status}`);
  const currency = e.totals?.currency;
  const money = (n: number | undefined) => (n === undefined || !currency ? '-' : formatMoney(n, currency));
  const lines = e.items.map((i) => ({
    label: i.name ? `${i.name} (${i.sku})` : i.sku,
    quantity: i.quantity,
    unit: money(i.unitPriceCents),
    total: money(i.unitPriceCents === undefined ? undefined : i.unitPriceCents * i.quantity),
  }));
  const reason = e.status === 'REJECTED' && e.reason ? `Reason: ${reasonInWords(e.reason)}.` : undefined;
  const greeting = `Hello ${e.customer.name ?? e.customer.email},`;
  const totals = e.totals
    ? [
        ['Subtotal', money(e.totals.subtotalCents)],
        ...(e.totals.discountCents > 0 ? [[`Discount${e.couponCode ? ` (${e.couponCode})` : ''}`, `-${money(e.totals.discountCents)}`]] : []),
        ['Total', money(e.totals.totalCents)],
      ]
    : [];

  const text = [
    greeting,
    '',
    h.intro,
    ...(reason ? [reason] : []),
    '',
    `Order ${e.orderId}`,
    '',
    ...lines.map((l) => `  ${l.quantity} x ${l.label} @ ${l.unit} = ${l.total}`),
    '',
    ...totals.map(([k, v]) => `${k}: ${v}`),
    '',
    'Thank you for shopping with us.',
  ].join('\n');

  const row = (cells: string[], tag = 'td') => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  const html = [
    '<!doctype html><html><body>',
    `<p>${esc(greeting)}</p>`,
    `<p>${esc(h.intro)}</p>`,
    reason ? `<p><strong>${esc(reason)}</strong></p>` : '',
    `<p>Order <code>${esc(e.orderId)}</code></p>`,
    '<table>',
    row(['Item', 'Quantity', 'Unit price', 'Line total'], 'th'),
    ...lines.map((l) => row([l.label, String(l.quantity), l.unit, l.total])),
    '</table>',
    totals.length ? `<table>${totals.map((t) => row(t)).join('')}</table>` : '',
    '<p>Thank you for shopping with us.</p>',
    '</body></html>',
  ].join('\n');

  return { subject: `Your order ${e.orderId} ${h.subject}`, text, html };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
