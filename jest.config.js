// Test tiers by file suffix: *.unit.spec.ts (pure, no I/O), *.int.spec.ts (real Postgres
// and/or the real Kafka broker), *.e2e.spec.ts (the built service as separate processes).
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const base = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.cache/', '/.data/'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.cache/'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
};

module.exports = {
  // int and e2e tests start brokers, consumers and processes; unit tests finish in ms anyway.
  testTimeout: 180000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['**/*.unit.spec.ts'] },
    { ...base, displayName: 'int', testMatch: ['**/*.int.spec.ts'] },
    { ...base, displayName: 'e2e', testMatch: ['**/*.e2e.spec.ts'] },
  ],
};
