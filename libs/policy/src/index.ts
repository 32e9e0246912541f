export * from './version';
export * from './behaviour';
export * from './guest-os';
export * from './notes';
export * from './decide';
