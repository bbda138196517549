export * from './database';
export * from './pg-listener';
export * from './infra-errors';
export * from './sql';
export * from './group-write';
export * from './prepared';
