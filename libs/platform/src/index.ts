export {
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './database/embedded-postgres';
export { openDatabase, allMigrations, type DatabaseOptions } from './database/data-source';
export * from './config';
