export * from './config';
export * from './http-errors';
export * from './health';
export * from './metrics';
export * from './bootstrap';
export * from './admin.guard';
export * from './api-keys';
