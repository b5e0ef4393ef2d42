// Lint for the whole repository: ESLint's and typescript-eslint's recommended rules, type-aware, on
// every TypeScript and JavaScript file of the typecheck program (tsconfig.json). Formatting is
// Prettier's (.prettierrc.json), so no rule here is about layout.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'client/dist/', '.cache/', 'loadtest-results/', 'test-results/']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // tsc reports undefined names, with the right globals for each file; ESLint's own list would not know them.
      'no-undef': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Unused code goes; a leading underscore marks a parameter a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `let peer; peer = await join({ onEvent: () => peer… })`: a callback made before the value exists
      // must see it once it does, which a const cannot.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // Vitest types its asymmetric matchers (expect.any(Number), expect.objectContaining(…)) as `any`,
      // so every expected object that uses one would be reported.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
