import { knobs } from './toy-consumers';
import { QueueType, startToyService, toyEnvironment } from './toy-rig';
import type { ToyQueue } from './toy-messages';

/**
 * The toy service as a process of its own (supervised by a test: see
 * supervisor.ts), in the test's database and under its MQ prefix. A job of
 * owner `poison` ends it (exit code 1) in the middle of its transaction, as a
 * crash or an out-of-memory kill would. Tells its parent `ready` once it
 * consumes; SIGTERM stops it.
 */
async function main(): Promise<void> {
  const need = (k: string) => process.env[k] ?? (() => { throw new Error(`${k} is not set`); })();
  const env = await toyEnvironment('child', { databaseUrl: need('TOY_DATABASE_URL'), prefix: need('TOY_PREFIX') });
  knobs.exitOnPoison = true;
  const svc = await startToyService({
    env,
    queues: JSON.parse(need('TOY_QUEUES')) as Partial<Record<ToyQueue, number>>,
    maxBatch: Number(process.env.TOY_MAX_BATCH ?? 1),
    queueType: (process.env.TOY_QUEUE_TYPE as QueueType | undefined) ?? 'classic',
    watch: [],
    logger: process.env.TOY_LOG === 'all' ? ['error', 'warn', 'log'] : ['error', 'warn'],
  });
  process.once('SIGTERM', () => void svc.cleanup().finally(() => process.exit(0)));
  process.send?.('ready');
}

main().catch((e: unknown) => {
  console.error(`toy service failed to start: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(2);
});
