import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@sphereface/common';
import { artifactsRoot, repositoryRoot } from './paths';
import type { RunRecord } from './record';

/** An artifact of a recorded run, read from the artifacts folder and checked against the record's sha256. */
export function readArtifact(record: RunRecord, name: string, root = repositoryRoot()): Uint8Array {
  const ref = record.artifacts.find((a) => a.name === name);
  if (!ref) throw new Error(`run ${record.runId} has no artifact '${name}' (has: ${record.artifacts.map((a) => a.name).join(', ')})`);
  const path = join(artifactsRoot(root), ref.path);
  if (!existsSync(path)) {
    throw new Error(
      `artifact ${name} of run ${record.runId} is not at ${path} (artifacts live outside git; set SPHEREFACE_ARTIFACTS or re-run with ` +
        `sphereface run ${record.identity.config.experiment} --variant ${record.identity.config.variant} --profile ${record.identity.config.profile} --seed ${record.identity.config.seed} --force)`,
    );
  }
  const data = new Uint8Array(readFileSync(path));
  const hash = sha256Hex(data);
  if (hash !== ref.sha256) throw new Error(`artifact ${path} does not match run ${record.runId}: sha256 ${hash}, recorded ${ref.sha256}`);
  return data;
}
