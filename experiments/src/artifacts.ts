import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { atomicWriteTempPid, sha256Hex, writeFileAtomic } from '@sphereface/common';
import { fileSystemHandler } from '@sphereface/models';
import { artifactsRoot, repositoryRoot } from './paths';
import type { ArtifactRef, RunRecord } from './record';

// A run's artifacts (weights, features, its training log and checkpoints) live in <artifacts root>/<run id>/, outside
// git; the record lists each file with its sha256. This module writes them, and reads them back checked.

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

/** Runs a write, reporting a failure (a full disk…) with the path being written. */
export async function writing<T>(path: string, write: () => T | Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw new Error(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function artifactRef(artifactsDir: string, name: string, path: string, data: Uint8Array): ArtifactRef {
  return { name, sha256: sha256Hex(data), bytes: data.byteLength, path: relative(artifactsDir, path) };
}

/** Writes one artifact atomically into the run folder and returns its reference for the record. */
export async function writeArtifact(runDir: string, artifactsDir: string, name: string, data: Uint8Array): Promise<ArtifactRef> {
  const path = join(runDir, name);
  await writing(path, () => writeFileAtomic(path, data));
  return artifactRef(artifactsDir, name, path, data);
}

/** Saves trained models (tfjs `model.json` + `weights.bin` each, in `<runDir>/<part>/`) and returns their references. */
export async function writeModelArtifacts(runDir: string, artifactsDir: string, models: Record<string, tf.LayersModel>): Promise<ArtifactRef[]> {
  const refs: ArtifactRef[] = [];
  for (const [part, model] of Object.entries(models)) {
    await writing(join(runDir, part), () => model.save(fileSystemHandler(join(runDir, part))));
    for (const file of ['model.json', 'weights.bin']) {
      const path = join(runDir, part, file);
      refs.push(artifactRef(artifactsDir, `${part}/${file}`, path, new Uint8Array(readFileSync(path))));
    }
  }
  return refs;
}

/** Makes sure a folder the run writes to exists and takes a file, before anything is trained. */
export function assertWritable(dir: string, what: string, variable: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new Error(`the ${what} folder ${dir} is not writable (${(error as Error).message}); nothing was trained. Make it writable or set ${variable} to another folder`, {
      cause: error,
    });
  }
}

/**
 * Temporary files of writes that a kill interrupted, anywhere in a run folder (writeFileAtomic's `….tmp-<pid>-…`, the
 * checkpoint writer's `.tmp-ckpt-…`). Called with the run's lock held, so no other writer of this run is alive.
 */
export function removeTemporaryFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (atomicWriteTempPid(entry.name) !== null || entry.name.startsWith('.tmp-ckpt-')) {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } else if (entry.isDirectory()) {
      removed.push(...removeTemporaryFiles(path));
    }
  }
  return removed;
}
