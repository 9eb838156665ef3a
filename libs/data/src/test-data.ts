// Test helper (not exported): which shared datasets are present, with a clear note when not.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256Hex } from '@sphereface/common';
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
