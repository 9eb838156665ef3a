import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cacheDir, repoRoot, resolveDataRoot } from './paths';

describe('data root', () => {
  it('is $SPHEREFACE_DATA, else ../shared/data beside the repo when present, else ./data', () => {
    const base = mkdtempSync(join(tmpdir(), 'sf-root-'));
    const repo = join(base, 'repo');
    mkdirSync(repo);
    expect(resolveDataRoot({ SPHEREFACE_DATA: 'rel/data' }, repo)).toEqual({ path: resolve('rel/data'), source: 'env' });
    expect(resolveDataRoot({}, repo)).toEqual({ path: join(repo, 'data'), source: 'local' });
    mkdirSync(join(base, 'shared', 'data'), { recursive: true });
    expect(resolveDataRoot({}, repo)).toEqual({ path: join(base, 'shared', 'data'), source: 'shared' });
    expect(resolveDataRoot({ SPHEREFACE_DATA: '/elsewhere' }, repo).source).toBe('env');
  });

  it('finds the workspace root above this library, and keeps caches in its .cache/', () => {
    const root = repoRoot();
    expect(fileURLToPath(import.meta.url).startsWith(join(root, 'libs', 'data'))).toBe(true);
    expect(cacheDir('x')).toBe(join(root, '.cache', 'sphereface-data', 'x'));
  });
});
