import { MESSAGING_MIGRATIONS } from '@orders/messaging';
import { ReceivingInit1732320000200 } from './1732320000200-receiving-init';

/** Applied in order at start-up (`migrateService`) and by `nx run order-receiving:db:migrate`. */
export const migrations = [...MESSAGING_MIGRATIONS, ReceivingInit1732320000200];
