import { Injectable } from '@nestjs/common';
import { AmqpConnection, DeadLetterToolbox, DeadLetterToolError } from '@orders/messaging';
import { DeadLetterError } from './dead-letter.error';

type Toolbox = Pick<DeadLetterToolbox, 'summary' | 'peek' | 'show' | 'replay' | 'replayOne' | 'discardAll' | 'discardOne'>;

/**
 * The dead-letter toolbox of libs/messaging (every queue of the topology)
 * behind the HTTP admin endpoints and the dlq CLI (dlq-cli.ts), its refusals
 * as DeadLetterError (404, 503).
 */
@Injectable()
export class DeadLettersService implements Toolbox {
  private readonly tools: DeadLetterToolbox;

  constructor(amqp: AmqpConnection) {
    this.tools = new DeadLetterToolbox(amqp);
  }

  summary = () => this.call(() => this.tools.summary());
  peek = (queue: string, limit: number) => this.call(() => this.tools.peek(queue, limit));
  show = (queue: string, messageId: string) => this.call(() => this.tools.show(queue, messageId));
  replay = (queue: string, limit: number) => this.call(() => this.tools.replay(queue, limit));
  replayOne = (queue: string, messageId: string) => this.call(() => this.tools.replayOne(queue, messageId));
  discardAll = (queue: string) => this.call(() => this.tools.discardAll(queue));
  discardOne = (queue: string, messageId: string) => this.call(() => this.tools.discardOne(queue, messageId));

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof DeadLetterToolError) throw new DeadLetterError(e.code, e.message);
      throw e;
    }
  }
}
