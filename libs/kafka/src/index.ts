export * from './kafka-client';
export * from './ingest-batch-handler';
export * from './kafka-ingest-server';
export * from './outbox-relay';
export * from './kafka-probe';
export * from './kafka-topics';
export { backoffDelay } from './util';
export * from './ingest-auth';
