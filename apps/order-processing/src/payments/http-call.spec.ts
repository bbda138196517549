import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpCall, HttpTimeout } from './http-call';

let server: http.Server;
let base: URL;
const sockets = new Set<unknown>();

before(async () => {
  server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000).unref();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, key: req.headers['idempotency-key'], body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('a call sends its method, headers and body and reads the whole answer; calls reuse one connection', async () => {
  const a = await httpCall(new URL('/pay', base), { method: 'POST', headers: { 'idempotency-key': 'k1' }, body: '{"x":"é"}', timeoutMs: 1000 });
  assert.equal(a.status, 201);
  assert.deepEqual(JSON.parse(a.text), { method: 'POST', key: 'k1', body: '{"x":"é"}' });
  const b = await httpCall(new URL('/pay', base), { method: 'GET', headers: {}, timeoutMs: 1000 });
  assert.equal(JSON.parse(b.text).method, 'GET');
  assert.equal(sockets.size, 1, 'kept alive');
});

test('a call that outlasts its timeout is aborted with a TimeoutError', async () => {
  const started = Date.now();
  await assert.rejects(httpCall(new URL('/slow', base), { method: 'GET', headers: {}, timeoutMs: 200 }), (e: unknown) => e instanceof HttpTimeout && e.name === 'TimeoutError' && /200 ms/.test(e.message));
  assert.ok(Date.now() - started < 1500);
});

test('a refused connection fails the call with its code', async () => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(httpCall(new URL(`http://127.0.0.1:${port}/`), { method: 'GET', headers: {}, timeoutMs: 1000 }), (e: unknown) => (e as { code?: string }).code === 'ECONNREFUSED');
});
