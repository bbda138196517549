import { MessagingTables1732320000000 } from '@orders/messaging';
import { InventoryInit1732320000100 } from './1732320000100-inventory-init';

/** Applied in order at start-up (`migrateService`) and by `nx run inventory:db:migrate`. */
export const migrations = [MessagingTables1732320000000, InventoryInit1732320000100];
