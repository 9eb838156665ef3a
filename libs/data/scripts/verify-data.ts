/**
 * Check every dataset's MANIFEST.sha256 (hashing only files changed since their last good check).
 * Usage: npx tsx libs/data/scripts/verify-data.ts [lfw|celeba_subset|att_faces ...]; exits 1 on any problem.
 */
import { DATASET_NAMES, type DatasetName, datasetDir, describeManifestProblem, resolveDataRoot, verifyManifest } from '../src/index';

const root = resolveDataRoot();
console.log(`data root ${root.path} (${root.source})`);
let bad = 0;
for (const name of (process.argv.length > 2 ? process.argv.slice(2) : DATASET_NAMES) as DatasetName[]) {
  const t = performance.now();
  const dir = datasetDir(name, root);
  const r = verifyManifest(dir);
  console.log(`${name}: ${r.files} files, ${r.hashed} hashed, ${r.fromCache} unchanged since their last check, ${r.problems.length} problems (${((performance.now() - t) / 1000).toFixed(2)} s)`);
  for (const p of r.problems) console.log(`  ${describeManifestProblem(dir, p)}`);
  bad += r.problems.length;
}
process.exit(bad ? 1 : 0);
