import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeChanges, codeIdentity, describeCodeStatus, importSpecifiers, moduleGraph, recordCodeStatus, RUNNER_ENTRY } from './code-identity';
import { repositoryRoot } from './paths';

const scratch = mkdtempSync(join(tmpdir(), 'sphereface-code-identity-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A small workspace laid out like this one: two libs, the runner, tests, docs, a benchmark script, the lockfile. */
function workspace(name: string): string {
  const root = join(scratch, name);
  const files: Record<string, string> = {
    'package-lock.json': '{"lockfileVersion": 3}',
    'README.md': '# docs',
    'libs/loss/package.json': JSON.stringify({ name: '@x/loss', exports: { '.': { default: './src/index.ts' }, './bounds': { default: './src/bounds/index.ts' } } }),
    'libs/loss/src/index.ts': "export { psi } from './psi';\nexport type { Options } from './types';",
    'libs/loss/src/psi.ts': 'export const psi = (m: number) => m * 2;',
    'libs/loss/src/types.ts': 'export interface Options { m: number }',
    'libs/loss/src/psi.test.ts': "import { psi } from './psi';",
    'libs/loss/src/bounds/index.ts': 'export const bound = 3;',
    'libs/loss/README.md': '# loss',
    'libs/data/package.json': JSON.stringify({ name: '@x/data', main: './src/index.ts' }),
    'libs/data/src/index.ts': "export const pool = new URL('./worker.mjs', import.meta.url);",
    'libs/data/src/worker.mjs': "await import('./worker-main.ts');",
    'libs/data/src/worker-main.ts': '// the worker body',
    'libs/data/scripts/bench.ts': "import { pool } from '../src/index';",
    'experiments/package.json': JSON.stringify({ name: '@x/experiments', main: './src/index.ts' }),
    'experiments/src/runner.ts': "import { psi } from '@x/loss';\nimport { pool } from '@x/data';\n// import { nothing } from './commented-out';",
    'experiments/src/runner.test.ts': "import './runner';",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('the code identity of a run', () => {
  const base = workspace('base');

  it('is the runner’s module graph: workspace sources reached by imports and worker URLs, no tests, types or docs', () => {
    expect(moduleGraph(base)).toEqual([
      'experiments/src/runner.ts',
      'libs/data/src/index.ts',
      'libs/data/src/worker-main.ts',
      'libs/data/src/worker.mjs',
      'libs/loss/src/index.ts',
      'libs/loss/src/psi.ts',
    ]);
    expect(Object.keys(codeIdentity(base, 'wasm').files)).toContain('package-lock.json');
  });

  it('keeps its hash across docs-only, test-only and benchmark-only changes', () => {
    const copy = join(scratch, 'docs');
    cpSync(base, copy, { recursive: true });
    writeFileSync(join(copy, 'README.md'), '# docs, rewritten');
    writeFileSync(join(copy, 'libs/loss/src/psi.test.ts'), "import { psi } from './psi';\n// another test");
    writeFileSync(join(copy, 'libs/data/scripts/bench.ts'), '// a faster benchmark');
    writeFileSync(join(copy, 'libs/loss/src/types.ts'), 'export interface Options { m: number; s?: number }');
    writeFileSync(join(copy, 'libs/loss/src/bounds/index.ts'), 'export const bound = 2 + Math.sqrt(3);');
    expect(codeIdentity(copy, 'wasm').hash).toBe(codeIdentity(base, 'wasm').hash);
  });

  it.each([
    ['a loss', 'libs/loss/src/psi.ts', 'export const psi = (m: number) => m * 3;'],
    ['a data worker', 'libs/data/src/worker-main.ts', '// a different worker body'],
    ['the runner', 'experiments/src/runner.ts', "import { psi } from '@x/loss';\nimport { pool } from '@x/data';\nexport const x = 1;"],
    ['the lockfile', 'package-lock.json', '{"lockfileVersion": 3, "packages": {}}'],
  ])('changes when %s changes, and says which file', (_what, path, text) => {
    const copy = join(scratch, path.replace(/\W/g, '-'));
    cpSync(base, copy, { recursive: true });
    writeFileSync(join(copy, path), text);
    const before = codeIdentity(base, 'wasm');
    const after = codeIdentity(copy, 'wasm');
    expect(after.hash).not.toBe(before.hash);
    expect(codeChanges(before.files, after.files)).toEqual({ changed: [path], added: [], removed: [] });
  });

  it('names an import it cannot resolve instead of leaving the file out', () => {
    const copy = join(scratch, 'broken');
    cpSync(base, copy, { recursive: true });
    writeFileSync(join(copy, 'libs/loss/src/index.ts'), "export { psi } from './psi-renamed';");
    expect(() => moduleGraph(copy)).toThrow(/libs\/loss\/src\/index\.ts: cannot resolve the import '\.\/psi-renamed'/);
  });

  it('reads static, re-exported, dynamic and worker imports, and skips type-only ones and comments', () => {
    const source = [
      "import * as tf from '@tensorflow/tfjs';",
      "import { a, type B } from './a';",
      "import type { C } from './c';",
      "export { d } from './d';",
      "export type { E } from './e';",
      "import './side-effect';",
      "const f = await import('./f');",
      "type N = typeof import('@x/native');",
      "new Worker(new URL('./w.mjs', import.meta.url));",
      "// import { g } from './g';",
      "/* import { h } from './h'; */",
    ].join('\n');
    expect(importSpecifiers(source).sort()).toEqual(['./a', './d', './f', './side-effect', './w.mjs', '@tensorflow/tfjs']);
  });

  it('covers this repository’s runner: every package it trains and evaluates with, and no test or benchmark file', () => {
    const graph = moduleGraph(repositoryRoot());
    expect(graph).toContain(RUNNER_ENTRY);
    for (const pkg of ['common', 'data', 'eval', 'loss', 'models']) expect(graph.some((f) => f.startsWith(`libs/${pkg}/src/`)), pkg).toBe(true);
    expect(graph).toContain('libs/data/src/align-worker-main.ts');
    expect(graph.filter((f) => /\.test\.|\/testing\/|\/scripts\/|\.md$/.test(f))).toEqual([]);
  });

  it('tells a record made with the current code from one made with other code, naming the files, and from an older record', () => {
    const copy = join(scratch, 'status');
    cpSync(base, copy, { recursive: true });
    const made = codeIdentity(copy, 'wasm');
    const record = { identity: { backend: 'wasm', code: { hash: made.hash } }, codeFiles: made.files };
    expect(recordCodeStatus(record, copy)).toEqual({ state: 'current', changed: [], added: [], removed: [] });
    expect(describeCodeStatus(recordCodeStatus(record, copy))).toBe('made with the current code');

    const later = join(scratch, 'status-later');
    cpSync(base, later, { recursive: true });
    writeFileSync(join(later, 'libs/loss/src/psi.ts'), 'export const psi = (m: number) => m * 4;');
    const status = recordCodeStatus(record, later);
    expect(status).toEqual({ state: 'changed', changed: ['libs/loss/src/psi.ts'], added: [], removed: [] });
    expect(describeCodeStatus(status)).toBe('made with other code: 1 file(s) differ (libs/loss/src/psi.ts)');

    const older = { identity: { backend: 'wasm', code: { treeHash: 'a'.repeat(40), diffHash: null } } };
    expect(recordCodeStatus(older, later).state).toBe('unknown');
    expect(describeCodeStatus({ state: 'changed', changed: ['a', 'b', 'c'], added: ['d'], removed: ['e'] }, 2)).toBe(
      'made with other code: 5 file(s) differ (a, b and 3 more)',
    );
  });
});
