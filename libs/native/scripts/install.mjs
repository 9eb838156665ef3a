// Builds the oneDNN addon during `npm install` / `npm ci` when oneDNN's headers are present. It never fails the
// install (unless --required is given): without oneDNN it prints why and records the reason in
// build/skip-reason.txt, which loadNativeAddon() reports; backend selection then falls back to wasm.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.argv.includes('--required');
const reasonFile = join(root, 'build', 'skip-reason.txt');
const addon = join(root, 'build', 'Release', 'sphereface_native.node');
const stampFile = join(root, 'build', 'source-hash.txt');

function writeAtomic(path, text) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function skip(reason) {
  writeAtomic(reasonFile, `${reason}\n`);
  console.log(`@sphereface/native: addon not built: ${reason}`);
  process.exit(required ? 1 : 0);
}

const includeDirs = [process.env.DNNL_ROOT && join(process.env.DNNL_ROOT, 'include'), '/usr/include', '/usr/local/include']
  .concat((process.env.CPATH ?? '').split(':'))
  .filter(Boolean);
if (!includeDirs.some((d) => existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')))) {
  skip(`oneDNN headers (oneapi/dnnl/dnnl.hpp) not found in ${includeDirs.join(', ')}; on Debian/Ubuntu: apt-get install libdnnl-dev`);
}

// node-gyp: the one npm runs scripts with, else the copy bundled with npm.
const npmGyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(npmGyp) ? npmGyp : null);
if (!gyp) skip('node-gyp not found (neither $npm_config_node_gyp nor npm\'s bundled copy)');

// Prefer the headers installed next to this node binary: node-gyp would otherwise download them (no network in CI).
const nodeDir = join(dirname(process.execPath), '..');
const args = [gyp, 'rebuild', '--jobs', 'max'];
if (existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);

// Sources + Node ABI: an install in a checkout whose addon is current (other workspaces' `npm install`) keeps it
// rather than deleting and rebuilding it under running processes.
const hash = createHash('sha256').update(`${process.versions.modules} ${process.versions.napi} ${process.arch}\n`);
for (const f of ['binding.gyp', ...readdirSync(join(root, 'csrc')).sort().map((n) => join('csrc', n))]) hash.update(f).update(readFileSync(join(root, f)));
const digest = hash.digest('hex');
if (existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest) {
  rmSync(reasonFile, { force: true });
  console.log('@sphereface/native: addon up to date (build/Release/sphereface_native.node)');
  process.exit(0);
}

console.log('@sphereface/native: building the oneDNN addon (node-gyp rebuild)');
const res = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (res.status !== 0) skip(`node-gyp rebuild failed (exit ${res.status ?? res.signal}); run \`npm run build:addon -w @sphereface/native\` to see the error`);
rmSync(reasonFile, { force: true });
writeAtomic(stampFile, `${digest}\n`);
console.log('@sphereface/native: addon built (build/Release/sphereface_native.node)');
