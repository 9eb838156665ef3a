import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { sha256Hex } from '@sphereface/common';

/**
 * The code a run executes: the non-test source files in the module graph that the runner imports, the lockfile
 * (third-party code), and, when the native backend trains, the addon's sources. Its hash is the code part of the run
 * ID, so a commit to a README, a test, a benchmark script or a notebook keeps every run ID, while a change to a loss,
 * model, data or trainer source changes the IDs of the runs that execute it.
 */
export interface CodeIdentity {
  /** sha256 over `files` (sorted by path). */
  hash: string;
  /** Repository-relative path → sha256 of the file's content (the first 16 hex digits: enough to tell files apart). */
  files: Record<string, string>;
}

/** Where the runner's module graph starts. */
export const RUNNER_ENTRY = 'experiments/src/runner.ts';

/** Files outside the import graph that a run's numbers depend on. */
const ALWAYS = ['package-lock.json'];
/** The native backend is imported by a variable specifier (it is optional); its addon is C++ built by node-gyp. */
const NATIVE_SOURCES = ['libs/native/src', 'libs/native/csrc', 'libs/native/binding.gyp'];

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.mjs', '.js'];
const TEST_FILE = /\.test\.[cm]?[jt]s$|\/testing\//;

/** Import specifiers in a source file: static and re-exports, literal dynamic imports, and worker URLs. */
export function importSpecifiers(source: string): string[] {
  const found = new Set<string>();
  // Type-only imports (`import type`, `typeof import(…)`) run no code, so they are not part of what a run executes.
  const patterns = [
    /(?:^|[\s;}])(?:import|export)\s+(?!type\s)[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
    /(?<!typeof\s+)\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  // Comments can mention imports (e.g. "see import('x')"): drop them first.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  for (const pattern of patterns) for (const [, spec] of code.matchAll(pattern)) found.add(spec);
  return [...found];
}

interface WorkspacePackage {
  dir: string;
  exports: Record<string, string>;
}

/** The workspace packages by name, with their `exports` subpaths mapped to source files. */
function workspacePackages(root: string): Map<string, WorkspacePackage> {
  const packages = new Map<string, WorkspacePackage>();
  const dirs = [...readdirSync(join(root, 'libs')).map((d) => join('libs', d)), 'experiments'];
  for (const dir of dirs) {
    const file = join(root, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; main?: string; exports?: Record<string, { default?: string } | string> };
    const exports: Record<string, string> = {};
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const path = typeof target === 'string' ? target : target.default;
      if (path) exports[subpath] = join(dir, path);
    }
    if (!exports['.'] && pkg.main) exports['.'] = join(dir, pkg.main);
    packages.set(pkg.name, { dir, exports });
  }
  return packages;
}

function resolveFile(root: string, candidate: string): string | null {
  const options = [candidate, ...SOURCE_EXTENSIONS.map((e) => candidate + e), ...SOURCE_EXTENSIONS.map((e) => join(candidate, `index${e}`))];
  // tsx lets `./x.js` name `./x.ts`.
  if (/\.js$/.test(candidate)) options.push(candidate.replace(/\.js$/, '.ts'));
  for (const option of options) {
    const full = join(root, option);
    if (existsSync(full) && statSync(full).isFile()) return option;
  }
  return null;
}

/**
 * The repository-relative paths of the source files reachable from `entry` through imports of relative paths and of
 * workspace packages (third-party packages are pinned by the lockfile instead). An import that names a workspace file
 * which does not exist is an error, so the graph cannot silently lose a part.
 */
export function moduleGraph(root: string, entry: string = RUNNER_ENTRY): string[] {
  const packages = workspacePackages(root);
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      let target: string | null = null;
      if (spec.startsWith('.')) {
        target = resolveFile(root, relative(root, resolve(root, dirname(file), spec)));
        if (!target) throw new Error(`${file}: cannot resolve the import '${spec}' (the code identity needs every workspace file a run imports)`);
      } else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        const pkg = packages.get(name);
        if (!pkg) continue; // third-party: pinned by the lockfile
        const subpath = spec === name ? '.' : `.${spec.slice(name.length)}`;
        const path = pkg.exports[subpath];
        target = path ? resolveFile(root, path) : null;
        if (!target) throw new Error(`${file}: '${spec}' is not an export of ${name} (${pkg.dir}/package.json)`);
      }
      if (!TEST_FILE.test(target)) queue.push(target);
    }
  }
  return [...seen].sort();
}

function filesUnder(root: string, path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [path];
  return readdirSync(full)
    .flatMap((name) => filesUnder(root, join(path, name)))
    .filter((f) => !TEST_FILE.test(f));
}

/** The code identity of a run on `backend` (the native addon's sources count only when it is the backend). */
export function codeIdentity(root: string, backend: string): CodeIdentity {
  const paths = new Set([...moduleGraph(root), ...ALWAYS]);
  if (backend === 'native') for (const source of NATIVE_SOURCES) for (const f of filesUnder(root, source)) paths.add(f);
  const files: Record<string, string> = {};
  for (const path of [...paths].sort()) files[path] = sha256Hex(readFileSync(join(root, path))).slice(0, 16);
  return { hash: sha256Hex(Object.entries(files).map(([p, h]) => `${p}\0${h}\n`).join('')), files };
}

/** How a record's code differs from the code here now: the files whose content changed, appeared or went away. */
export function codeChanges(recorded: Record<string, string>, current: Record<string, string>): { changed: string[]; added: string[]; removed: string[] } {
  const changed = Object.keys(recorded).filter((p) => p in current && current[p] !== recorded[p]);
  const added = Object.keys(current).filter((p) => !(p in recorded));
  const removed = Object.keys(recorded).filter((p) => !(p in current));
  return { changed, added, removed };
}

/** How a record's code compares with the code here now. */
export interface CodeStatus {
  /** current: the same code identity; changed: other code, with the files that differ; unknown: a record made before code identities (whole-tree hashes). */
  state: 'current' | 'changed' | 'unknown';
  changed: string[];
  added: string[];
  removed: string[];
}

const currentIdentities = new Map<string, CodeIdentity>();

/** The code status of a record against the working tree at `root` (the current identity is computed once per backend). */
export function recordCodeStatus(record: { identity: { backend: string; code: object }; codeFiles?: Record<string, string> }, root: string): CodeStatus {
  const key = `${root}\0${record.identity.backend}`;
  let current = currentIdentities.get(key);
  if (!current) {
    current = codeIdentity(root, record.identity.backend);
    currentIdentities.set(key, current);
  }
  if (!record.codeFiles) return { state: 'unknown', changed: [], added: [], removed: [] };
  const changes = codeChanges(record.codeFiles, current.files);
  const same = 'hash' in record.identity.code && record.identity.code.hash === current.hash;
  return { state: same ? 'current' : 'changed', ...changes };
}

/** One line for people: whether a record's code is the current code, and if not, which files differ. */
export function describeCodeStatus(status: CodeStatus, maxFiles = 6): string {
  if (status.state === 'current') return 'made with the current code';
  if (status.state === 'unknown') return 'made before per-file code identities: which files differ from the current code is unknown';
  const files = [...status.changed, ...status.added.map((f) => `+${f}`), ...status.removed.map((f) => `−${f}`)];
  const shown = files.slice(0, maxFiles).join(', ') + (files.length > maxFiles ? ` and ${files.length - maxFiles} more` : '');
  return `made with other code: ${files.length} file(s) differ (${shown})`;
}
