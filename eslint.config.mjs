// ESLint (flat config): typescript-eslint's type-checked rules over every TypeScript file of the
// tree, the recommended JavaScript rules over the few plain .js/.mjs files, one file-naming
// convention (kebab-case), and eslint-config-prettier last so that no rule here argues with
// prettier's layout. `npm run lint` runs this and `prettier --check .`; see docs/DEVELOPING.md.
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import checkFile from 'eslint-plugin-check-file';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TEST_FILES = ['**/*.spec.ts', 'test/**/*.ts', '**/test/**/*.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', 'coverage/', '.data/', 'bench/results/'] },

  // Plain JavaScript: build scripts (ESM) and the CommonJS helpers.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  // TypeScript: the type-checked rules. The project service gives each file the tsconfig that
  // owns it: tsconfig.json (apps, libs, bench, test, scripts) or apps/ui/tsconfig.json (the
  // preact dashboard, .tsx).
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `import x = require('m')` is TypeScript's typed import of a CommonJS module (seek-bzip).
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // `/// <reference path>` brings in the local declarations of an untyped package (seek-bzip.d.ts).
      '@typescript-eslint/triple-slash-reference': ['error', { path: 'always', types: 'prefer-import', lib: 'always' }],
      // Off: an `async` function without `await` implements a promise-returning interface (Nest
      // lifecycle hooks, kafkajs and TypeORM callbacks, fakes); dropping `async` would turn a
      // thrown error into a synchronous throw, a change of behaviour.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['apps/ui/src/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },

  // Tests: the JSON bodies that supertest, fetch and the fixtures hand back are typed `any` by
  // their libraries, and a test reads them field by field to assert on them; typing each body
  // first would only repeat the assertion. So in tests the unsafe-* rules are off, and so is
  // no-explicit-any (a test's stubs and casts of deliberately malformed input). Likewise
  // require-await: a test's fakes are `async` to match the promise-returning interface they
  // stand in for, without awaiting anything. The code under test has all of these as errors.
  {
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },

  // Disabling a rule is for one line, names the rule and says why:
  // `// eslint-disable-next-line @typescript-eslint/no-unsafe-call -- reason`. No file-wide or
  // blanket disables; a disable that no longer suppresses anything is an error too.
  comments.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: [] }],
      '@eslint-community/eslint-comments/no-unlimited-disable': 'error',
      '@eslint-community/eslint-comments/disable-enable-pair': 'error',
      '@eslint-community/eslint-comments/no-restricted-disable': 'off',
    },
  },

  // One file-naming convention: kebab-case (lower-case words and digits joined by '-'; the
  // migrations start with their timestamp), with dotted suffixes (`.int.spec.ts`, `.service.ts`).
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    plugins: { 'check-file': checkFile },
    rules: {
      'check-file/filename-naming-convention': [
        'error',
        { '**/*.{ts,tsx,js,mjs,cjs}': '+([a-z0-9])*(-+([a-z0-9]))' },
        { ignoreMiddleExtensions: true },
      ],
      'check-file/folder-naming-convention': ['error', { '**/': '+([a-z0-9])*(-+([a-z0-9]))' }],
    },
  },

  prettier,
);
