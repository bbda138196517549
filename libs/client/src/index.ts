export * from './client.js';
export * from './errors.js';
export * from './follow.js';
export * from './sse.js';
