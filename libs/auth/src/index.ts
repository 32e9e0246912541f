export * from './roles';
export * from './tokens';
export * from './token-cache';
export * from './kafka-signature';
export * from './kafka-keys';
export * from './migrations';
export * from './token-notifications';
