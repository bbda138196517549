import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Body, Controller, Module, Param, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsString } from 'class-validator';
import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { createHttpApp } from './bootstrap';

/** The platform's HTTP error policy on a real Fastify app: which failure becomes which status. */
const FAILURES: Record<string, () => Error> = {
  'pg-refused': () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
  'pg-terminated': () => new Error('Connection terminated unexpectedly'),
  'pg-shutdown': () => new QueryFailedError('SELECT 1', [], Object.assign(new DatabaseError('terminating connection due to administrator command', 0, 'error'), { code: '57P01' })),
  'pg-too-many': () => Object.assign(new DatabaseError('sorry, too many clients already', 0, 'error'), { code: '53300' }),
  'broker-down': () => new Error('broker not connected'),
  'bad-statement': () => new QueryFailedError('SELECT', [], Object.assign(new DatabaseError('syntax error', 0, 'error'), { code: '42601' })),
  bug: () => new TypeError("Cannot read properties of undefined (reading 'x')"),
};

class EchoBody {
  @IsString() text: string;
}

@Controller()
class FailingController {
  @Post('fail/:kind')
  fail(@Param('kind') kind: string): never {
    throw FAILURES[kind]();
  }

  @Post('echo')
  echo(@Body() b: EchoBody): EchoBody {
    return b;
  }
}

@Module({ controllers: [FailingController] })
class FailingModule {}

let app: NestFastifyApplication;
let base: string;

before(async () => {
  app = await createHttpApp(FailingModule, { serviceName: 'http-errors-test', logLevel: 'fatal', bodyLimit: 1024 });
  await app.listen(0, '127.0.0.1');
  base = await app.getUrl();
});

after(async () => {
  await app?.close();
});

test('the database or broker being unreachable is 503 with Retry-After; a bad statement or a bug is a 500 without', async () => {
  for (const kind of Object.keys(FAILURES)) {
    const r = await fetch(`${base}/fail/${kind}`, { method: 'POST' });
    const body = (await r.json()) as { statusCode: number; message: string };
    const unavailable = kind.startsWith('pg-') || kind === 'broker-down';
    assert.equal(r.status, unavailable ? 503 : 500, kind);
    assert.equal(body.statusCode, r.status);
    assert.equal(r.headers.get('retry-after'), unavailable ? '2' : null, kind);
    assert.ok(!body.message.includes('5432') && !body.message.includes('terminat'), 'no internals in the answer');
  }
});

test('any service: unsafe text is a 400 naming the field, on bodies and path parameters', async () => {
  const r = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'a\u0000' }) });
  assert.equal(r.status, 400);
  assert.deepEqual(((await r.json()) as { details: Array<{ field: string }> }).details.map((d) => d.field), ['text']);
  const p = await fetch(`${base}/fail/%00`, { method: 'POST' });
  assert.equal(p.status, 400);
  assert.deepEqual(((await p.json()) as { details: Array<{ field: string }> }).details.map((d) => d.field), ['kind']);
});
