export * from './version';
export * from './behaviour';
export * from './notes';
export * from './decide';
