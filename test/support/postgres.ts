// One database per test file: libs/testing's (shared with bench/).
export { createTestDatabase, TEST_DATABASE_ADMIN_URL, type TestDatabase } from '@fleetcompat/testing';
