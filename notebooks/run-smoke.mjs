#!/usr/bin/env node
// CI check: executes every notebook at the smoke profile, headless, with records and artifacts in a scratch
// folder (so the committed notebooks, records and docs stay untouched). Any cell error fails the run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
// A scratch folder for this run's records and artifacts, so committed records stay untouched.
const scratch = mkdtempSync(join(tmpdir(), 'sphereface-notebooks-'));

const run = (command, args, env = {}) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// The tslab kernel type-checks notebook cells against the packages' declaration files.
run(join(root, 'node_modules', '.bin', 'tsc'), ['-b']);
const notebooks = readdirSync(here).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join('notebooks', f));
run('/usr/bin/python3', ['notebooks/execute.py', ...notebooks, '--out-dir', join(scratch, 'executed'), '-p', 'profile', '"smoke"', '--timeout', '1200'], {
  SPHEREFACE_RECORDS: join(scratch, 'records'),
  SPHEREFACE_ARTIFACTS: join(scratch, 'artifacts'),
});
// Every run the notebooks made must be a smoke run: a longer profile here means a parameter was not overridden.
const profiles = existsSync(join(scratch, 'records')) ? readdirSync(join(scratch, 'records')) : [];
const others = profiles.filter((p) => p !== 'smoke');
if (others.length) {
  console.error(`notebooks ran ${others.join(', ')}-profile experiments instead of smoke ones: a parameter override did not apply`);
  process.exit(1);
}
console.log(`${notebooks.length} passed, 0 failed`);
