export * from './topics';
export * from './events';
export * from './validate';
export * from './decisions';
export * from './ports';
export * from './json-schema';
export * from './limits';
