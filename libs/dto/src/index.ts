import 'reflect-metadata';
export * from './create-order.dto';
export * from './list-orders.dto';
export * from './responses';
