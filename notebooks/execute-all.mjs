#!/usr/bin/env node
// Executes every notebook in place at one profile (default cpu): first records every run the notebooks show
// with the `sphereface` command, so the kernels only replay records (tslab's TypeScript watcher aborts a cell
// when files appear in the packages it loaded while the cell runs), then executes them and links each record
// to the notebooks that show it.
//   node notebooks/execute-all.mjs [--profile smoke|cpu|paper] [notebook.ipynb ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
const at = args.indexOf('--profile');
const profile = at >= 0 ? args.splice(at, 2)[1] : 'cpu';
const chosen = args.length ? args : readdirSync(here).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join('notebooks', f));

const run = (command, commandArgs) => {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// The experiments each notebook reads (lfw-protocols shows table3's default variant).
const uses = { 'table3-margin': 'table3', 'lfw-protocols': 'table3', losses: 'losses', depth: 'depth', 'toy-features': 'toy' };
const experiments = [...new Set(chosen.map((p) => uses[p.replace(/^.*\//, '').replace(/\.ipynb$/, '')]).filter(Boolean))];
run(join(root, 'node_modules', '.bin', 'tsc'), ['-b']);
for (const experiment of experiments) run(process.execPath, ['experiments/bin/sphereface.mjs', 'run', experiment, '--all', '--profile', profile]);
// The full-width gap study is a study of the cpu-full profile: at the default profile it runs at that one.
const own = { 'full-width-gap': 'cpu-full' };
const name = (p) => p.replace(/^.*\//, '').replace(/\.ipynb$/, '');
const groups = new Map();
for (const p of chosen) {
  const at = profile === 'cpu' ? own[name(p)] ?? profile : profile;
  groups.set(at, [...(groups.get(at) ?? []), p]);
}
for (const [at, notebooks] of groups) run('/usr/bin/python3', ['notebooks/execute.py', ...notebooks, '-p', 'profile', JSON.stringify(at), '--link-records']);
