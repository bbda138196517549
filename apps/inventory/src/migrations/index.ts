import { MESSAGING_MIGRATIONS } from '@orders/messaging';
import { InventoryInit1732320000100 } from './1732320000100-inventory-init';
import { Reservations1732320000200 } from './1732320000200-reservations';
import { ReservationsReturned1732320000300 } from './1732320000300-reservations-returned';
import { ReservationsUnfilled1732320000400 } from './1732320000400-reservations-unfilled';

/** Applied in order at start-up (`migrateService`) and by `nx run inventory:db:migrate`. */
export const migrations = [...MESSAGING_MIGRATIONS, InventoryInit1732320000100, Reservations1732320000200, ReservationsReturned1732320000300, ReservationsUnfilled1732320000400];
