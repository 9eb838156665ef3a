import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the folder holding this package's parent `package.json` with workspaces. */
export function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Large artifacts (weights, features, checkpoints) live outside git: $SPHEREFACE_ARTIFACTS or ./artifacts. */
export function artifactsRoot(root: string): string {
  return resolve(process.env.SPHEREFACE_ARTIFACTS ?? join(root, 'artifacts'));
}
