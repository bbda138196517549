import { Counter, Histogram } from 'prom-client';

export const messagesHandled = new Counter({
  name: 'messages_handled_total',
  help: 'Consumed messages by queue, message name and outcome (ack, retry_in_place, retry, defer, drop, dead_letter, rerouted; message "batch", outcome batch_split: a batch that failed and was handled message by message)',
  labelNames: ['queue', 'message', 'outcome'] as const,
});

export const messageHandlingSeconds = new Histogram({
  name: 'message_handling_seconds',
  help: 'Time from delivery to acknowledgement',
  labelNames: ['queue', 'message'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

export const messageBatchSize = new Histogram({
  name: 'message_batch_size',
  help: 'Deliveries handled together in one transaction, per batch taken from a batched queue (1: a message that came alone)',
  labelNames: ['queue'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64],
});

export const outboxPublished = new Counter({
  name: 'outbox_published_total',
  help: 'Messages relayed from the outbox to the broker with a publisher confirm',
});
