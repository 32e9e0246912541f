#!/usr/bin/env bash
# `npm run lint`: ESLint (typescript-eslint's type-checked rules, the file-naming convention;
# eslint.config.mjs) over the whole tree, then `prettier --check .` (.prettierrc.json). Both run,
# whatever the first says; then madge for import cycles (between files and, through the
# tsconfig paths, between libs); then `tsc --noEmit` over every file of tsconfig.json, tests
# included (jest's ts-jest runs with isolatedModules, so a test's type errors are caught here
# only). The exit code is non-zero if any found a violation.
# `npm run format` rewrites the files prettier would change. See docs/DEVELOPING.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eslint_rc=0
node_modules/.bin/eslint --max-warnings 0 . || eslint_rc=$?
prettier_rc=0
node_modules/.bin/prettier --check --log-level warn . || prettier_rc=$?
cycles_rc=0
node_modules/.bin/madge --circular --no-spinner --extensions ts,tsx --ts-config tsconfig.json apps libs bench test >/tmp/fleetcompat-madge.$$ 2>&1 || { cycles_rc=$?; cat /tmp/fleetcompat-madge.$$; }
rm -f /tmp/fleetcompat-madge.$$
types_rc=0
node_modules/.bin/tsc -p tsconfig.json --noEmit || types_rc=$?

if (( eslint_rc != 0 )); then echo "lint: eslint found violations (exit $eslint_rc)"; fi
if (( prettier_rc != 0 )); then echo "lint: prettier found files not formatted (exit $prettier_rc): npm run format"; fi
if (( cycles_rc != 0 )); then echo "lint: madge found import cycles (exit $cycles_rc)"; fi
if (( types_rc != 0 )); then echo "lint: tsc found type errors (exit $types_rc)"; fi
if (( eslint_rc == 0 && prettier_rc == 0 && cycles_rc == 0 && types_rc == 0 )); then echo "lint: eslint, prettier, the cycle check and the type check pass"; exit 0; fi
exit 1
