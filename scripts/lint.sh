#!/usr/bin/env bash
# `npm run lint`: ESLint (typescript-eslint's type-checked rules, the file-naming convention;
# eslint.config.mjs) over the whole tree, then `prettier --check .` (.prettierrc.json). Both run,
# whatever the first says; the exit code is non-zero if either found a violation.
# `npm run format` rewrites the files prettier would change. See docs/DEVELOPING.md.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eslint_rc=0
node_modules/.bin/eslint --max-warnings 0 . || eslint_rc=$?
prettier_rc=0
node_modules/.bin/prettier --check --log-level warn . || prettier_rc=$?

if (( eslint_rc != 0 )); then echo "lint: eslint found violations (exit $eslint_rc)"; fi
if (( prettier_rc != 0 )); then echo "lint: prettier found files not formatted (exit $prettier_rc): npm run format"; fi
if (( eslint_rc == 0 && prettier_rc == 0 )); then echo "lint: eslint and prettier pass"; exit 0; fi
exit 1
