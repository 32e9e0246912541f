export * from './signals';
export * from './database.module';
export * from './projector.module';
export * from './relay.module';
export * from './kafka-wiring';
export * from './bootstrap';
