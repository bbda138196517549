import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { AmqpConnection } from '@orders/messaging';
import { loadConfig } from '@orders/platform';
import { OrderProcessingEnv } from './config';
import { DeadLettersService } from './dead-letters/dead-letters.service';

/**
 * Operators' dead-letter tool, straight to the broker with the service's
 * configuration (RABBITMQ_URL, MQ_PREFIX); the same code as the HTTP admin
 * endpoints. Prints JSON.
 *
 *   npx nx dlq:list order-processing [-- --queue order-processing.saga [--limit 20]]
 *   npx nx dlq:show order-processing -- --queue order-processing.saga --id <message id>
 *   npx nx dlq:replay order-processing -- --queue order-processing.saga [--id <message id> | --limit 1000]
 *   npx nx dlq:discard order-processing -- --queue order-processing.saga [--id <message id> | --all]
 */
const USAGE = `usage: dlq-cli list [--queue <queue> [--limit <n>]]
       dlq-cli show --queue <queue> --id <message id>
       dlq-cli replay --queue <queue> [--id <message id> | --limit <n>]
       dlq-cli discard --queue <queue> (--id <message id> | --all)`;

const COMMANDS = ['list', 'show', 'replay', 'discard'];

class UsageError extends Error {}

export async function runDlqCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { queue: { type: 'string' }, id: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  });
  const [command, ...rest] = positionals;
  if (!COMMANDS.includes(command) || rest.length) throw new UsageError(`unknown command ${[command, ...rest].join(' ')}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100000)) throw new UsageError('--limit must be a whole number from 1 to 100000');
  if (command !== 'list' && !values.queue) throw new UsageError(`${command} needs --queue`);
  if (values.id !== undefined && (command === 'list' || limit !== undefined)) throw new UsageError('--id goes with show, replay or discard, without --limit');
  if (command === 'show' && values.id === undefined) throw new UsageError('show needs --id');
  if (command === 'discard' && (values.id === undefined) === !values.all) throw new UsageError('discard needs --id or --all (one of them)');

  const cfg = loadConfig(OrderProcessingEnv, env);
  const amqp = new AmqpConnection({ url: cfg.RABBITMQ_URL, prefix: cfg.MQ_PREFIX, connectionName: 'order-processing dlq-cli', ownQueues: [], retryDelaysMs: [] });
  const connected = new Promise<void>((resolve) => void amqp.onConnected(async () => resolve()));
  try {
    await amqp.connect();
    await connected;
    const dlq = new DeadLettersService(amqp);
    if (command === 'list') return values.queue ? await dlq.peek(values.queue, limit ?? 20) : await dlq.summary();
    if (command === 'show') return await dlq.show(values.queue!, values.id!);
    if (command === 'discard') return values.id !== undefined ? await dlq.discardOne(values.queue!, values.id) : await dlq.discardAll(values.queue!);
    return values.id !== undefined ? await dlq.replayOne(values.queue!, values.id) : await dlq.replay(values.queue!, limit ?? 1000);
  } finally {
    await amqp.close();
  }
}

if (require.main === module) {
  Logger.overrideLogger(['error', 'warn']);
  runDlqCli(process.argv.slice(2)).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (e: unknown) => {
      const usage = e instanceof UsageError || String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`dlq-cli: ${e instanceof Error ? e.message : String(e)}\n${usage ? `${USAGE}\n` : ''}`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
