import { MESSAGING_MIGRATIONS } from '@orders/messaging';
import { NotificationEmails1732320000300 } from './1732320000300-notification-emails';
import { Webhooks1732320000400 } from './1732320000400-webhooks';
import { NotificationRetention1732320000500 } from './1732320000500-notification-retention';

/** Applied in order at start-up (`migrateService`) and by `npm run db:migrate -w @orders/notification`. */
export const migrations = [...MESSAGING_MIGRATIONS, NotificationEmails1732320000300, Webhooks1732320000400, NotificationRetention1732320000500];
