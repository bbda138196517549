import { register } from 'prom-client';

/**
 * How many deliveries of `message` on `queue` this process has finished with
 * `outcome` (messages_handled_total; redeliveries and duplicates included).
 * Tests wait on it: once a delivery is acknowledged, its handler and its
 * transaction are done.
 */
export async function handledCount(queue: string, message: string, outcome = 'ack'): Promise<number> {
  const metric = register.getSingleMetric('messages_handled_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.find((v) => v.labels.queue === queue && v.labels.message === message && v.labels.outcome === outcome)?.value ?? 0;
}
