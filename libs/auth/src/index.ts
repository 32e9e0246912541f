export * from './roles';
export * from './tokens';
export * from './kafka-signature';
export * from './kafka-keys';
export * from './migrations';
