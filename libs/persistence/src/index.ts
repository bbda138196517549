export * from './database';
export * from './pg-listener';
