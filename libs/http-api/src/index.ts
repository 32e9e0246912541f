export * from './problem';
export * from './views';
export * from './events.controller';
export * from './guests.controller';
export * from './hosts.controller';
export * from './summary.controller';
export * from './http-api.module';
export * from './openapi';
