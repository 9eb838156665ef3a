// Test helper (not exported): which shared datasets are present, with a clear note when not.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type DatasetName, resolveDataRoot } from './paths';

export const dataRoot = resolveDataRoot();

export function haveDataset(name: DatasetName): boolean {
  const ok = existsSync(join(dataRoot.path, name, 'MANIFEST.sha256'));
  if (!ok) console.warn(`SKIPPING ${name} tests: no ${name}/MANIFEST.sha256 under data root ${dataRoot.path} (set SPHEREFACE_DATA)`);
  return ok;
}
