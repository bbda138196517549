// The demo page: places orders through the shop backend (which holds the API
// key) and follows each order live with @orders/client, straight from the
// storefront API on its own origin (CORS: the event stream answers any origin).
import { OrdersClient } from '/client/index.js';

const $ = (sel, root = document) => root.querySelector(sel);
const money = (cents, currency) => new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
const FINAL = ['CONFIRMED', 'REJECTED', 'FAILED', 'CANCELLED'];
const GATEWAY = {
  normal: { latencyMs: 0, errorRate: 0, outage: false },
  slow: { latencyMs: 2000, errorRate: 0, outage: false },
  flaky: { latencyMs: 0, errorRate: 0.5, outage: false },
  down: { latencyMs: 0, errorRate: 0, outage: true },
};

async function backend(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const details = Array.isArray(data.details) ? ` (${data.details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; ')})` : '';
    throw new Error(`${data.message ?? res.statusText}${details}`);
  }
  return data;
}

const config = await backend('GET', '/api/config');
const client = new OrdersClient({ baseUrl: config.ordersApiUrl });

$('#products').innerHTML = '';
config.catalogue.forEach((p, i) => {
  const label = document.createElement('label');
  label.innerHTML = `<input type="radio" name="sku" value="${p.sku}" ${i === 0 ? 'checked' : ''}> ${p.name} — ${money(p.priceCents, p.currency)}`;
  $('#products').append(label);
});

function render(li, e) {
  $('.status', li).textContent = e.status;
  $('.reason', li).textContent = e.reason ? `(${e.reason.replace(/_/g, ' ')})` : '';
  const item = document.createElement('li');
  item.textContent = `${e.status}${e.reason ? ` — ${e.reason}` : ''} at ${new Date(e.at).toLocaleTimeString()}`;
  $('.history', li).append(item);
  if (e.totals) $('.total', li).textContent = `Total ${money(e.totals.totalCents, e.totals.currency)}`;
  if (FINAL.includes(e.status)) {
    li.dataset.final = e.status;
    $('.cancel', li).disabled = true;
    void showMail(li, e.id);
  }
}

/** Links to the order's emails in the mail catcher (they arrive shortly after the final state). */
async function showMail(li, id) {
  for (let i = 0; i < 20 && li.isConnected; i++) {
    const { messages } = await backend('GET', `/api/orders/${id}/mail`).catch(() => ({ messages: [] }));
    if (messages.length) {
      $('.mail', li).innerHTML = 'Email: ';
      for (const m of messages) {
        const a = document.createElement('a');
        a.href = m.url;
        a.textContent = m.subject;
        a.target = '_blank';
        $('.mail', li).append(a, ' ');
      }
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

$('#checkout').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const button = $('#place');
  button.disabled = true;
  $('#checkout-error').textContent = '';
  const li = $('#order-template').content.firstElementChild.cloneNode(true);
  try {
    // One key per checkout: if this request is retried, it is still one order.
    const accepted = await backend('POST', '/api/orders', {
      checkoutId: crypto.randomUUID(),
      sku: form.get('sku'),
      quantity: Number(form.get('quantity')),
      payment: form.get('payment'),
      email: form.get('email'),
    });
    li.dataset.orderId = accepted.id;
    $('.order-id', li).textContent = accepted.id;
    $('#orders').prepend(li);
    $('.cancel', li).addEventListener('click', async () => {
      $('.cancel', li).disabled = true;
      try {
        await backend('POST', `/api/orders/${accepted.id}/cancel`);
      } catch (e) {
        $('.error', li).textContent = `Cancel refused: ${e.message}`;
      }
    });
    client.followOrder(accepted.links, {
      onEvent: (e) => {
        $('.error', li).textContent = '';
        render(li, e);
      },
      onReconnect: () => ($('.error', li).textContent = 'Connection lost; resuming…'),
      onError: (e) => ($('.error', li).textContent = `Lost track of the order: ${e.message}`),
    });
  } catch (e) {
    $('#checkout-error').textContent = `Could not place the order: ${e.message}`;
  } finally {
    button.disabled = false;
  }
});

for (const b of document.querySelectorAll('[data-gateway]')) {
  b.addEventListener('click', async () => {
    try {
      await backend('PUT', '/api/gateway', GATEWAY[b.dataset.gateway]);
      $('#gateway-state').textContent = b.dataset.gateway;
    } catch (e) {
      $('#gateway-state').textContent = `error: ${e.message}`;
    }
  });
}
document.body.dataset.ready = 'true';
