import { MESSAGING_MIGRATIONS } from '@orders/messaging';
import { ProcessingInit1732320000300 } from './1732320000300-processing-init';
import { ProcessingTenantAdmission1732320000301 } from './1732320000301-processing-tenant-admission';
import { ProcessingOrderHistory1732320000302 } from './1732320000302-processing-order-history';
import { ProcessingEveryOrderEnds1732320000303 } from './1732320000303-processing-every-order-ends';
import { ProcessingOrdersInFlight1732320000304 } from './1732320000304-processing-orders-in-flight';
import { ProcessingPaymentJobs1732320000305 } from './1732320000305-processing-payment-jobs';
import { ProcessingOrderLane1732320000306 } from './1732320000306-processing-order-lane';

/** Applied in order at start-up (`migrateService`) and by `nx run order-processing:db:migrate`. */
export const migrations = [...MESSAGING_MIGRATIONS, ProcessingInit1732320000300, ProcessingTenantAdmission1732320000301, ProcessingOrderHistory1732320000302,
  ProcessingEveryOrderEnds1732320000303, ProcessingOrdersInFlight1732320000304, ProcessingPaymentJobs1732320000305, ProcessingOrderLane1732320000306,
];
