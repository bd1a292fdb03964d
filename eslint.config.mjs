// ESLint over the TypeScript and the Node scripts: `npm run lint`, run by `npm test`.
// The TypeScript is linted with type information (typescript-eslint's project service reads
// tsconfig.json, whose references are webview/ and extension/). typescript-eslint needs
// TypeScript's JS API, which TypeScript 7 does not have, so the `typescript` package is 6.x for it;
// the type check of `npm run build` is TypeScript 7's (the `typescript-7` package).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'runtime/build/', 'compat/build/', 'samples/*/build/', '.vscode-test/']),
  {
    files: ['extension/**/*.ts', 'webview/**/*.ts', 'shared/**/*.ts', 'compat/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // Leaving out a field by destructuring it beside a rest element is how the code drops one.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // Plain JavaScript, in no tsconfig: the rules that need no types.
    files: ['scripts/*.mjs', 'extension/**/*.mjs'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // The callbacks it hands to page.evaluate and page.waitForFunction run in the browser.
    files: ['scripts/bench-webview.mjs'],
    languageOptions: { globals: globals.browser },
  },
);
