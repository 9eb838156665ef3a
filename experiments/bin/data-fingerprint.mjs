#!/usr/bin/env node
// Prints the hashes of the dataset manifests under the data root, so nx can cache experiment targets on the
// data they read (the data root lies outside the workspace). Same root rule as @sphereface/data.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [process.env.SPHEREFACE_DATA, join(repo, '..', 'shared', 'data'), join(repo, 'data')].filter(Boolean);
const root = candidates.find((c) => existsSync(c)) ?? 'none';
const lines = [];
for (const dataset of ['lfw', 'celeba_subset', 'att_faces']) {
  const manifest = join(root, dataset, 'MANIFEST.sha256');
  lines.push(`${dataset} ${existsSync(manifest) ? createHash('sha256').update(readFileSync(manifest)).digest('hex') : 'missing'}`);
}
console.log(lines.join('\n'));
