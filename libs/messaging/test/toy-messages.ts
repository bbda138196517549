import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Max, Min, ValidateNested } from 'class-validator';
import type { MessagingOptions } from '../src/index';

/*
 * The toy application's messages and queues: a worker that takes jobs. Nothing
 * here is the platform's; the library is tested with these alone.
 */

export class WorkItemV1 {
  @IsString() @Length(1, 40) sku: string;
  @IsInt() @Min(1) @Max(1000) quantity: number;
}

/** A job to do (worker.jobs; worker.batch takes the same shape as work.item.v1). */
export class WorkRequestedV1 {
  @IsUUID() jobId: string;
  @IsString() @Length(1, 40) owner: string;
  @ArrayMinSize(1) @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => WorkItemV1) items: WorkItemV1[];
}

/** One item of a job, handled in batches. */
export class WorkBatchedV1 extends WorkRequestedV1 {}

/** A note on a job, applied in one statement (worker.notes, batches that run together). */
export class WorkNotedV1 {
  @IsUUID() jobId: string;
  @IsString() @Length(1, 100) owner: string;
}

export class WorkCancelledV1 {
  @IsUUID() jobId: string;
  @IsString() @Length(1, 200) reason: string;
}

/** Published when a job is done; two queues take it. */
export class WorkDoneV1 {
  @IsUUID() jobId: string;
  @IsString() @Length(1, 40) owner: string;
}

export const WORK_STATUSES = ['STARTED', 'DONE', 'FAILED'] as const;

/** Routed by its content: routing key `work.status.v1.<status>.<owner>`. */
export class WorkStatusV1 {
  @IsUUID() jobId: string;
  @IsString() @Length(1, 40) owner: string;
  @IsIn(WORK_STATUSES) status: (typeof WORK_STATUSES)[number];
}

/** A request: its consumer answers with a price. */
export class WorkQuoteV1 {
  @IsUUID() jobId: string;
  @ArrayMinSize(1) @ArrayMaxSize(20) @ValidateNested({ each: true }) @Type(() => WorkItemV1) items: WorkItemV1[];
}

/** Taken by a queue no toy service consumes. */
export class WorkArchivedV1 {
  @IsUUID() jobId: string;
}

/** The toy application's announcement of a dead letter (its announceDeadLetter hook). */
export class WorkDeadLetteredV1 {
  @IsString() @Length(0, 100) messageId: string;
  @IsString() @Length(1, 100) name: string;
  @IsString() @Length(1, 100) queue: string;
  @IsString() @Length(1, 1000) reason: string;
  @IsOptional() @IsUUID() jobId?: string;
  /** The dead letter's body as it came (base64): also one that could not be read. */
  @IsString() @Length(0, 4000) rawBase64: string;
}

const statusRoute = (p: WorkStatusV1) => `${p.status}.${p.owner}`;

export const TOPOLOGY = {
  messages: {
    'work.requested.v1': WorkRequestedV1,
    'work.batched.v1': WorkBatchedV1,
    'work.noted.v1': WorkNotedV1,
    'work.cancelled.v1': WorkCancelledV1,
    'work.done.v1': WorkDoneV1,
    'work.status.v1': WorkStatusV1,
    'work.quote.v1': WorkQuoteV1,
    'work.archived.v1': WorkArchivedV1,
    'work.dead-lettered.v1': WorkDeadLetteredV1,
  },
  queues: {
    'worker.jobs': ['work.requested.v1', 'work.cancelled.v1'],
    'worker.batch': ['work.batched.v1'],
    'worker.notes': ['work.noted.v1'],
    // two queues bound to one message
    'worker.ledger': ['work.done.v1'],
    'worker.mailer': ['work.done.v1'],
    // a routed binding, and one bound at run time only (Messaging.setBinding)
    'worker.audit': [{ message: 'work.status.v1', route: 'DONE.*' }],
    'worker.hooks': [{ message: 'work.status.v1', route: null }],
    'worker.quotes': ['work.quote.v1'],
    // consumed by no toy service: what lands here stays
    'ops.incidents': ['work.dead-lettered.v1'],
    'ops.archive': ['work.archived.v1'],
  },
  route: (name: string, payload: object) => (name === 'work.status.v1' ? statusRoute(payload as WorkStatusV1) : undefined),
  // an `urgent` owner's status events leave at once, never behind a publish waiting for its confirms
  publishAtOnce: (routingKey: string) => routingKey.endsWith('.urgent'),
  // an earlier version consumed work.done.v1 on worker.jobs
  retired: { 'worker.jobs': ['work.done.v1'] },
} as const satisfies MessagingOptions['topology'];

declare module '../src/index' {
  interface Register {
    topology: typeof TOPOLOGY;
  }
}

export type ToyQueue = keyof typeof TOPOLOGY.queues;
export type ToyMessageName = keyof typeof TOPOLOGY.messages;
/** Message name → payload, as TestBus takes it. */
export type ToyMessages = { [N in ToyMessageName]: InstanceType<(typeof TOPOLOGY.messages)[N]> };
/** A toy message as it travels (the library's Envelope, for these messages). */
export interface ToyEnvelope<N extends ToyMessageName = ToyMessageName> {
  id: string;
  name: N;
  occurredAt: string;
  correlationId?: string;
  payload: ToyMessages[N];
}
export const TOY_QUEUES = Object.keys(TOPOLOGY.queues) as ToyQueue[];
