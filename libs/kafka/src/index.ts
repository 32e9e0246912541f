export * from './kafka-client';
export * from './ingest-batch-handler';
export * from './kafka-ingest-server';
export * from './outbox-relay';
export * from './kafka-probe';
export { backoffDelay } from './util';
