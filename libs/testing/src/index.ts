// Helpers shared by the tests (test/support, the int and e2e specs) and the benchmark harness
// (bench/): the repository root, free ports, unique names, test databases, spawned processes,
// waiting. Part of the build (bench runs from dist/bench), never imported by the apps.
export * from './root';
export * from './http';
export * from './names';
export * from './ports';
export * from './postgres';
export * from './process';
export * from './wait';
