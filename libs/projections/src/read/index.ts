// The read side: one typed query per file, over the projections (and, for the history, the
// event store). The HTTP layer composes these; none of them writes.
export * from './context';
export * from './guest-view';
export * from './guest';
export * from './guests';
export * from './host';
export * from './placements';
export * from './readiness';
export * from './placements-json';
export * from './set-aside';
export * from './summary';
export * from './event-ref';
export * from './events-by-id';
export * from './stream-events';
export * from './decision-history';
export * from './host-selection';
export * from './selected-hosts';
export * from './kernels-of-hosts';
export * from './policy-tables';
export * from './guests-of-hosts';
export * from './fix-candidates';
