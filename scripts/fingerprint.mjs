#!/usr/bin/env node
// What nx cannot see in the workspace files but changes a target's outcome, printed for nx's `runtime` inputs:
//   node scripts/fingerprint.mjs data   the dataset manifests under the data root (experiment targets)
//   node scripts/fingerprint.mjs test   the above, plus the Debian packages the tests need, the built native
//                                       addon and the Node version (test targets: a suite that skipped because
//                                       something was missing must not be replayed once it is there)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** The data root, by the same rule as @sphereface/data: $SPHEREFACE_DATA, ../shared/data, ./data. */
function dataRoot() {
  const candidates = [process.env.SPHEREFACE_DATA, join(repo, '..', 'shared', 'data'), join(repo, 'data')].filter(Boolean);
  return candidates.find((c) => existsSync(c)) ?? null;
}

export function dataFingerprint(root = dataRoot()) {
  return ['lfw', 'celeba_subset', 'att_faces'].map((dataset) => {
    const manifest = root ? join(root, dataset, 'MANIFEST.sha256') : null;
    return `data ${dataset} ${manifest && existsSync(manifest) ? sha256(readFileSync(manifest)) : 'missing'}`;
  });
}

export function debianPackages(listFile = join(repo, 'scripts', 'debian-packages.txt')) {
  return readFileSync(listFile, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** `name version` for each package, `name missing` when not installed (or when there is no dpkg). */
export function packageVersions(packages = debianPackages()) {
  return packages.map((name) => {
    try {
      const out = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Status} ${Version}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const [status, version] = out.split(' ');
      return `deb ${name} ${status === 'installed' ? version : 'missing'}`;
    } catch {
      return `deb ${name} missing`;
    }
  });
}

export function addonFingerprint(addon = join(repo, 'libs', 'native', 'build', 'Release', 'sphereface_native.node')) {
  return `addon ${existsSync(addon) ? sha256(readFileSync(addon)) : 'absent'}`;
}

export function testFingerprint() {
  return [`node ${process.version}`, ...packageVersions(), addonFingerprint(), ...dataFingerprint()];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mode = process.argv[2];
  if (mode !== 'data' && mode !== 'test') {
    console.error('usage: node scripts/fingerprint.mjs data|test');
    process.exit(2);
  }
  console.log((mode === 'data' ? dataFingerprint() : testFingerprint()).join('\n'));
}
