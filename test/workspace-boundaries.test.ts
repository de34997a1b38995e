import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint rules that keep the layout honest, run by ESLint with the repository's own
 * configuration on snippets placed (in name only) where they would live: product code never
 * imports test infrastructure, no file reaches into another workspace by a relative path, no
 * import of types alone loads their module, and no file is over 300 lines.
 */
const root = new URL('..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

const problems = async (file: string, code: string) => {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, line: m.line }));
};

const TESTKIT_IMPORT = "import { waitFor } from '@tollgate/testkit/wait-for';\nexport const poll = waitFor;\n";

describe('workspace boundaries', () => {
  it('refuses @tollgate/testkit in product code, and allows it in the tests beside that code', async () => {
    for (const workspace of ['core', 'gateway-plugin', 'quota-sidecar', 'meter-sink', 'sync-worker', 'standalone', 'sample-upstream']) {
      expect(await problems(`${workspace}/src/fixture.ts`, TESTKIT_IMPORT)).toEqual([{ rule: 'no-restricted-imports', line: 1 }]);
      expect(await problems(`${workspace}/src/fixture.test.ts`, TESTKIT_IMPORT)).toEqual([]);
    }
    expect(await problems('quota-sidecar/src/routes/fixture.ts', "export { startValkey } from '@tollgate/testkit/valkey';\n")).toEqual([
      { rule: 'no-restricted-imports', line: 1 },
    ]);
    expect(await problems('loadtest/src/fixture.ts', TESTKIT_IMPORT)).toEqual([]);
  });

  it('refuses vitest in product code: a suite shared by test files lives in testkit', async () => {
    const suite = "import { describe } from 'vitest';\nexport const contract = () => describe('contract', () => {});\n";
    expect(await problems('core/src/credits/fixture.ts', suite)).toEqual([{ rule: 'no-restricted-imports', line: 1 }]);
    expect(await problems('core/src/credits/fixture.test.ts', suite)).toEqual([]);
    expect(await problems('testkit/src/fixture.ts', suite)).toEqual([]);
  });

  it('refuses a relative import into another workspace, static, dynamic or re-exported, from any workspace', async () => {
    const code = [
      "import { creditKeys } from '../../core/src/credits/keys.ts';",
      "export * from '../../quota-sidecar/src/index.ts';",
      "export const worker = () => import('../../sync-worker/src/index.ts');",
      'export const keys = creditKeys;',
      '',
    ].join('\n');
    const expected = [1, 2, 3].map((line) => ({ rule: 'tollgate/no-relative-workspace-import', line }));
    expect(await problems('loadtest/src/fixture.ts', code)).toEqual(expected);
    expect(await problems('gateway-plugin/src/fixture.test.ts', code)).toEqual(expected);
    expect(await problems('test/fixture.test.ts', "import { waitFor } from '../testkit/src/wait-for.ts';\nexport const poll = waitFor;\n")).toEqual([
      { rule: 'tollgate/no-relative-workspace-import', line: 1 },
    ]);
  });

  it('refuses a file over 300 lines, in any workspace', async () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const line${i} = ${i};`).join('\n') + '\n';
    expect(await problems('core/src/credits/fixture.ts', lines(300))).toEqual([]);
    expect(await problems('core/src/credits/fixture.ts', lines(301))).toEqual([{ rule: 'max-lines', line: 301 }]);
    expect(await problems('test/fixture.test.ts', lines(301))).toEqual([{ rule: 'max-lines', line: 301 }]);
  });

  it('refuses an import whose names are all types unless it is written `import type`, which loads nothing', async () => {
    const code = "import { type Replays } from './replay-registry.ts';\nexport type Held = Replays;\n";
    expect(await problems('quota-sidecar/src/fixture.ts', code)).toEqual([{ rule: '@typescript-eslint/no-import-type-side-effects', line: 1 }]);
    expect(await problems('quota-sidecar/src/fixture.ts', code.replace('import { type Replays }', 'import type { Replays }'))).toEqual([]);
  });

  it('allows relative imports inside a workspace', async () => {
    const code = "import { creditKeys } from './keys.ts';\nimport type { ApiCallEvent } from '../events/api-call.ts';\nexport const keys = creditKeys;\nexport type Event = ApiCallEvent;\n";
    expect(await problems('core/src/credits/fixture.ts', code)).toEqual([]);
  });
});
