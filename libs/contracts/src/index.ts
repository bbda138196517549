import 'reflect-metadata';
export * from './messages/common';
export * from './messages/order-placed.v1';
export * from './messages/order-status-changed.v1';
export * from './messages/order-cancel-requested.v1';
export * from './messages/inventory.v1';
export * from './messages/payment.v1';
export * from './registry';
export * from './envelope';
