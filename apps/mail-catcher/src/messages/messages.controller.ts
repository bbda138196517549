import { Body, Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { CatcherError } from './catcher.error';
import { MailStore, MessagesPage, StoredMessage } from './mail-store';
import { DeleteDto, ListQueryDto } from './messages.dto';

/** The subset of Mailpit's API that checks use, in Mailpit's shape. */
@Controller('api/v1')
export class MessagesController {
  constructor(private readonly store: MailStore) {}

  @Get('messages')
  list(@Query() q: ListQueryDto): MessagesPage {
    return this.store.page(q.start, q.limit);
  }

  @Get('message/:id')
  get(@Param('id') id: string): StoredMessage {
    const m = this.store.read(id);
    if (!m) throw new CatcherError('not_found', `message ${id} not found`);
    return m;
  }

  @Delete('messages')
  delete(@Body() body?: DeleteDto): string {
    this.store.delete(body?.IDs);
    return 'ok';
  }
}
