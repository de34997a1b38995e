import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOT = dirname(fileURLToPath(import.meta.url));
const WORKSPACES = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces;
/** The product, and the demo npm start serves: never test or benchmark code. */
const PRODUCT = ['core', 'gateway-plugin', 'quota-sidecar', 'meter-sink', 'sync-worker', 'standalone', 'sample-upstream'];

const workspaceOf = (path) => {
  const top = relative(ROOT, path).split(sep)[0];
  return WORKSPACES.includes(top) ? top : undefined;
};

/**
 * A workspace is reached by its package name (`@tollgate/core`), never by a relative path into
 * its folder (`../../core/src/…`): such an import skips the package's exports, so what a
 * workspace offers and what others depend on drift apart unseen.
 */
const noRelativeWorkspaceImport = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { relative: "'{{source}}' reaches into the {{target}} workspace by a relative path; import it by its package name." },
  },
  create(context) {
    const from = workspaceOf(context.filename);
    const check = ({ source }) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = workspaceOf(resolve(dirname(context.filename), source.value));
      if (target !== undefined && target !== from) context.report({ node: source, messageId: 'relative', data: { source: source.value, target } });
    };
    return { ImportDeclaration: check, ImportExpression: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { tollgate: { rules: { 'no-relative-workspace-import': noRelativeWorkspaceImport } } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        { selector: "CallExpression[callee.property.name='only']", message: 'No .only in committed tests.' },
        { selector: "CallExpression[callee.property.name='skip']", message: 'No .skip in committed tests.' },
      ],
      'tollgate/no-relative-workspace-import': 'error',
      // `import { type X } from 'm'` still loads m when the types are stripped: write `import type`.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // A file does one thing: past 300 lines it is doing two, and is split by responsibility.
      'max-lines': ['error', { max: 300 }],
    },
  },
  {
    // Product code never imports test infrastructure or benchmarks; its tests (*.test.ts) may.
    files: PRODUCT.map((w) => `${w}/**/*.ts`),
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['@tollgate/testkit', '@tollgate/testkit/*', '@tollgate/test', '@tollgate/test/*', '@tollgate/loadtest', '@tollgate/loadtest/*'],
          message: 'Product code never imports test or benchmark code; only *.test.ts files may use @tollgate/testkit.',
        }, {
          // A suite shared by several test files (the credit store contract) is test code too.
          group: ['vitest', 'vitest/*'],
          message: 'Test code lives in *.test.ts files or in @tollgate/testkit, never in a product file.',
        }],
      }],
    },
  },
  { files: ['eslint.config.js', 'vitest.config.ts'], rules: { 'no-restricted-syntax': 'off' } },
);
