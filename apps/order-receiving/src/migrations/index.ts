import { MessagingTables1732320000000 } from '@orders/messaging';
import { ReceivingInit1732320000200 } from './1732320000200-receiving-init';

/** Applied in order at start-up (`migrateService`) and by `nx run order-receiving:db:migrate`. */
export const migrations = [MessagingTables1732320000000, ReceivingInit1732320000200];
