import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Server } from 'node:net';
import { Client, DatabaseError, Pool } from 'pg';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './infra-errors';

/** Real errors from node-postgres against servers that refuse, hang up or never answer. */
async function server(onConnection: (s: import('node:net').Socket) => void): Promise<{ port: number; close(): Promise<void>; srv: Server }> {
  const srv = createServer(onConnection);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { srv, port, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

const caught = async (p: Promise<unknown>): Promise<unknown> => p.then(() => assert.fail('expected a failure'), (e: unknown) => e);

const dbError = (code: string, message = 'x'): DatabaseError => Object.assign(new DatabaseError(message, 0, 'error'), { code });

test('connection refused, cut connections and pool timeouts are infrastructure errors', async () => {
  const closed = await server(() => undefined);
  await closed.close();
  const refused = await caught(new Client({ host: '127.0.0.1', port: closed.port }).connect());
  assert.equal((refused as { code?: string }).code, 'ECONNREFUSED');
  assert.ok(isDatabaseUnavailable(refused));

  const hangUp = await server((s) => s.destroy());
  const terminated = await caught(new Client({ host: '127.0.0.1', port: hangUp.port }).connect());
  assert.ok(isDatabaseUnavailable(terminated), String(terminated));
  await hangUp.close();

  const sockets: import('node:net').Socket[] = [];
  const silent = await server((s) => sockets.push(s));
  const pool = new Pool({ host: '127.0.0.1', port: silent.port, connectionTimeoutMillis: 100 });
  const timeout = await caught(pool.query('SELECT 1'));
  assert.ok(isDatabaseUnavailable(timeout), String(timeout));
  await pool.end();
  for (const s of sockets) s.destroy();
  await silent.close();
});

test('server states that mean "not now" (and contention that passes on retry) are infrastructure errors; errors of the statement itself are not', () => {
  for (const code of ['08000', '08003', '08006', '08001', '08004', '08P01', '57P01', '57P02', '57P03', '53300', '25006', '40001', '40P01']) {
    assert.ok(isDatabaseUnavailable(dbError(code)), code);
  }
  for (const code of ['22P05', '23505', '23503', '42601', '42P01', '22007', '22008', '22003', '57014']) {
    assert.equal(isDatabaseUnavailable(dbError(code)), false, code);
  }
  assert.equal(isDatabaseUnavailable(new Error('boom')), false);
  assert.equal(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'x')")), false);
  assert.equal(isDatabaseUnavailable(undefined), false);
  // a statement the server gave up on because it waited too long (statement_timeout): the database is too slow now, not the statement wrong
  assert.ok(isDatabaseUnavailable(dbError('57014', 'canceling statement due to statement timeout')));
  assert.equal(isDatabaseUnavailable('Connection terminated unexpectedly'), false, 'only errors, not strings');
});

test('wrapped errors are recognised: TypeORM QueryFailedError, cause, AggregateError', () => {
  assert.ok(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], dbError('57P01', 'terminating connection due to administrator command'))));
  assert.equal(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], dbError('23505'))), false);
  assert.ok(isDatabaseUnavailable(new Error('write failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) })));
  const refused = (port: number) => Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
  assert.ok(isDatabaseUnavailable(new AggregateError([refused(1), refused(2)])));
  assert.equal(isDatabaseUnavailable(new Error('broker not connected')), false, 'the broker is messaging\'s to judge');
});
