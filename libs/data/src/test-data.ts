// Test helper (not exported): which shared datasets are present, with a clear note when not.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256Hex } from '@sphereface/common';
import { expect } from 'vitest';
import type { IdentityDataset } from './datasets';
import { DataError } from './errors';
import { type DatasetName, resolveDataRoot } from './paths';

export const dataRoot = resolveDataRoot();

export function haveDataset(name: DatasetName): boolean {
  const ok = existsSync(join(dataRoot.path, name, 'MANIFEST.sha256'));
  if (!ok) console.warn(`SKIPPING ${name} tests: no ${name}/MANIFEST.sha256 under data root ${dataRoot.path} (set SPHEREFACE_DATA)`);
  return ok;
}

/** Write `dir`/MANIFEST.sha256 (`sha256sum` format, sorted, itself excluded) for every file below `dir`, as the data README does. */
export function writeManifest(dir: string): void {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name !== 'MANIFEST.sha256') files.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  const lines = files.sort().map((f) => `${sha256Hex(readFileSync(join(dir, f)))}  ${f}`);
  writeFileSync(join(dir, 'MANIFEST.sha256'), lines.join('\n') + (lines.length ? '\n' : ''));
}

/**
 * A small fixed identity view: image hashes given, as from a manifest, so no file is read (view hashes and crop keys
 * of it are pinned in the tests).
 */
export function fixedView(): IdentityDataset {
  const lm = (d: number) => [[30 + d, 50], [66, 51 + d], [48, 72], [34 + d, 92], [63, 92 - d]] as [number, number][];
  const items = [
    { rel: 'A/A_0001.jpg', label: 0, identity: 'A', landmarks: lm(0), sha256: 'a'.repeat(64) },
    { rel: 'A/A_0002.jpg', label: 0, identity: 'A', landmarks: lm(0.5), sha256: 'b'.repeat(64) },
    { rel: 'B/B_0001.jpg', label: 1, identity: 'B', landmarks: lm(1.25), sha256: 'c'.repeat(64) },
  ];
  return { name: 'fixed', imageDir: '/nowhere', identities: ['A', 'B'], items, skipped: [], provenance: { dataset: 'fixed' } };
}

/** The DataError that `fn` throws (fails the test when it throws nothing or something else). */
export function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}
