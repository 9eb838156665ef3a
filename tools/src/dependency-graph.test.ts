import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'sphereface-graph-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

type Graph = Record<string, string[]>;

/** One dependency cycle (as a path that ends where it starts), or null. Depth-first, three colours. */
function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph[node] ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of Object.keys(graph)) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

/** The workspace's project graph as nx computes it (package.json dependencies and imports, static and dynamic). */
function nxProjectGraph(): Graph {
  const file = join(scratch, 'graph.json');
  execFileSync(join(repo, 'node_modules', '.bin', 'nx'), ['graph', `--file=${file}`], {
    cwd: repo,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_WORKSPACE_DATA_DIRECTORY: join(scratch, 'nx-data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { graph } = JSON.parse(readFileSync(file, 'utf8')) as { graph: { dependencies: Record<string, Array<{ target: string }>> } };
  return Object.fromEntries(
    Object.entries(graph.dependencies).map(([project, deps]) => [project, deps.map((d) => d.target).filter((t) => t in graph.dependencies)]),
  );
}

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const packageDirs = [...readdirSync(join(repo, 'libs')).map((d) => join('libs', d)), 'experiments', 'notebooks', 'tools'].filter((d) => {
  try {
    return statSync(join(repo, d, 'package.json')).isFile();
  } catch {
    return false;
  }
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (['node_modules', 'dist', 'build'].includes(name)) return [];
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('findCycle', () => {
  it('finds a cycle, and only a real one', () => {
    expect(findCycle({ a: ['b'], b: ['c'], c: ['a'] })).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle({ a: ['b', 'c'], b: ['c'], c: [] })).toBeNull();
    expect(findCycle({ native: ['common'], models: ['native', 'common'], common: [], x: ['models', 'x'] })).toEqual(['x', 'x']);
  });
});

describe('package dependencies go one way', () => {
  it('nx’s project graph has no cycle', () => {
    const graph = nxProjectGraph();
    expect(Object.keys(graph)).toEqual(expect.arrayContaining(['@sphereface/models', '@sphereface/native', '@sphereface/common']));
    expect(findCycle(graph), 'a dependency cycle between workspace packages').toBeNull();
  }, 120_000);

  it('@sphereface/native is a leaf above @sphereface/common (models loads it as an optional dependency)', () => {
    const graph = nxProjectGraph();
    expect(graph['@sphereface/native'].filter((d) => d !== '@sphereface/common')).toEqual([]);
    const models = JSON.parse(readFileSync(join(repo, 'libs/models/package.json'), 'utf8')) as PackageJson;
    expect(models.optionalDependencies?.['@sphereface/native']).toBeDefined();
  }, 120_000);

  it.each(packageDirs)('%s imports only the workspace packages its package.json declares', (dir) => {
    const pkg = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')) as PackageJson;
    const declared = new Set([pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.devDependencies })]);
    const undeclared: string[] = [];
    for (const file of files(join(repo, dir))) {
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\(\s*)'(@sphereface\/[a-z-]+)/g)) {
        if (!declared.has(name)) undeclared.push(`${file.slice(repo.length + 1)} imports ${name}`);
      }
    }
    expect(undeclared).toEqual([]);
  });
});
