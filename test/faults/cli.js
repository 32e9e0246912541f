#!/usr/bin/env node
// `npm run test:faults [-- --long] [jest args]`: the fault-injection suite alone, through
// scripts/test.sh (npm packages, the Kafka jars, the build), fast profile by default, the
// long one with --long (or FAULTS_LONG=1). See test/faults/README.md.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
const env = { ...process.env };
const rest = [];
for (const a of args) {
  if (a === '--long') env.FAULTS_LONG = '1';
  else rest.push(a);
}
const root = path.resolve(__dirname, '../..');
const r = spawnSync('bash', [path.join(root, 'scripts/test.sh'), 'test/faults', '--selectProjects', 'e2e', ...rest], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(r.status === null ? 1 : r.status);
