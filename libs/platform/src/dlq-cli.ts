import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { TOPOLOGY } from '@orders/contracts';
import { DeadLetters } from '@orders/messaging';
import { BaseEnv, loadConfig } from './config';
import { PLATFORM_CODEC } from './messages';

/**
 * Operators' dead-letter tool for one service's own queues, straight to the
 * broker with the service's configuration (RABBITMQ_URL, MQ_PREFIX); the
 * same code as its `/dead-letters` endpoints. Prints JSON.
 *
 *   npx nx dlq:list order-processing [-- --queue order-processing.saga [--limit 20]]
 *   npx nx dlq:show inventory -- --queue inventory.commands --id <message id>
 *   npx nx dlq:replay order-processing -- --queue order-processing.saga [--id <message id> | --limit 1000]
 *   npx nx dlq:discard notification -- --queue notification.email [--id <message id> | --all]
 */
const USAGE = `usage: dlq <service> list [--queue <queue> [--limit <n>]]
       dlq <service> show --queue <queue> --id <message id>
       dlq <service> replay --queue <queue> [--id <message id> | --limit <n>]
       dlq <service> discard --queue <queue> (--id <message id> | --all)`;

const COMMANDS = ['list', 'show', 'replay', 'discard'];

class UsageError extends Error {}

/** The queues each service consumes (its queue names start with the service's). */
const queuesOf = (service: string) => Object.keys(TOPOLOGY.queues).filter((q) => q.startsWith(`${service}.`));

export async function runDlqCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { queue: { type: 'string' }, id: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  });
  const [service, command, ...rest] = positionals;
  if (!service || queuesOf(service).length === 0) throw new UsageError(`unknown service ${service ?? ''}`);
  if (!COMMANDS.includes(command) || rest.length) throw new UsageError(`unknown command ${[command, ...rest].join(' ')}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100000)) throw new UsageError('--limit must be a whole number from 1 to 100000');
  if (command !== 'list' && !values.queue) throw new UsageError(`${command} needs --queue`);
  if (values.id !== undefined && (command === 'list' || limit !== undefined)) throw new UsageError('--id goes with show, replay or discard, without --limit');
  if (command === 'show' && values.id === undefined) throw new UsageError('show needs --id');
  if (command === 'discard' && (values.id === undefined) === !values.all) throw new UsageError('discard needs --id or --all (one of them)');
  const cfg = loadConfig(BaseEnv, env);
  const { deadLetters: dlq, close } = await DeadLetters.open({
    url: cfg.RABBITMQ_URL, prefix: cfg.MQ_PREFIX, topology: TOPOLOGY, codec: PLATFORM_CODEC, ownQueues: queuesOf(service), name: `${service} dlq-cli`,
  });
  try {
    if (command === 'list') return values.queue ? await dlq.peek(values.queue, limit ?? 20) : await dlq.summary();
    if (command === 'show') return await dlq.show(values.queue!, values.id!);
    if (command === 'discard') return values.id !== undefined ? await dlq.discardOne(values.queue!, values.id) : await dlq.discardAll(values.queue!);
    return values.id !== undefined ? await dlq.replayOne(values.queue!, values.id) : await dlq.replay(values.queue!, limit ?? 1000);
  } finally {
    await close();
  }
}

if (require.main === module) {
  Logger.overrideLogger(['error', 'warn']);
  runDlqCli(process.argv.slice(2)).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (e: unknown) => {
      const usage = e instanceof UsageError || String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`dlq: ${e instanceof Error ? e.message : String(e)}\n${usage ? `${USAGE}\n` : ''}`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
