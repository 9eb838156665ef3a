import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addonFingerprint, debianPackages, packageVersions } from '../../scripts/fingerprint.mjs';

const repo = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'sphereface-tools-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface NxInput {
  env?: string;
  runtime?: string;
}

const nxJson = JSON.parse(readFileSync(join(repo, 'nx.json'), 'utf8')) as {
  targetDefaults: Record<string, { inputs?: Array<string | NxInput> }>;
  namedInputs: Record<string, Array<string | NxInput>>;
};

/** The test target's inputs with named inputs expanded. */
function testInputs(): Array<string | NxInput> {
  const expand = (input: string | NxInput): Array<string | NxInput> =>
    typeof input === 'string' && nxJson.namedInputs[input.replace(/^\^/, '')] ? nxJson.namedInputs[input.replace(/^\^/, '')].flatMap(expand) : [input];
  return (nxJson.targetDefaults.test.inputs ?? []).flatMap(expand);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (['node_modules', 'dist', 'build', '.nx'].includes(name)) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs|py|sh)$/.test(name) ? [path] : [];
  });
}

describe('nx test cache', () => {
  it('keys every test target on the environment variables that decide whether suites run or skip', () => {
    const envInputs = new Set(testInputs().flatMap((i) => (typeof i === 'object' && i.env ? [i.env] : [])));
    const read = new Set<string>();
    for (const dir of ['libs', 'experiments', 'notebooks']) {
      for (const file of sourceFiles(join(repo, dir))) {
        for (const [name] of readFileSync(file, 'utf8').matchAll(/SPHEREFACE_[A-Z_]+_REQUIRED\b/g)) read.add(name);
      }
    }
    expect([...read].sort()).toEqual(expect.arrayContaining(['SPHEREFACE_NATIVE_REQUIRED', 'SPHEREFACE_WEBGPU_REQUIRED']));
    const missing = [...read, 'CI', 'SPHEREFACE_DATA'].filter((name) => !envInputs.has(name));
    expect(missing, `env variables missing from nx.json's test inputs`).toEqual([]);
    expect(testInputs().some((i) => typeof i === 'object' && i.runtime === 'node scripts/fingerprint.mjs test')).toBe(true);
  });

  it('fingerprints the built addon by content, and a Debian package by whether and which version is installed', () => {
    const addon = join(scratch, 'addon.node');
    expect(addonFingerprint(addon)).toBe('addon absent');
    writeFileSync(addon, 'one build');
    const first = addonFingerprint(addon);
    writeFileSync(addon, 'another build');
    expect(addonFingerprint(addon)).not.toBe(first);
    expect(first).toMatch(/^addon [0-9a-f]{64}$/);

    expect(packageVersions(['sphereface-no-such-package'])).toEqual(['deb sphereface-no-such-package missing']);
    const listed = debianPackages();
    expect(listed).toContain('chromium');
    expect(listed).toContain('libdnnl-dev');
    const installed = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'dpkg'], { encoding: 'utf8' });
    if (installed.status === 0) expect(packageVersions(['dpkg'])).toEqual([`deb dpkg ${installed.stdout}`]);
  });

  it('replays a cached result only when the environment is the same (a skip never stands in for a required run)', () => {
    // A throw-away cache and workspace-data folder, so this neither reads nor fills the user's cache.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NX_CACHE_DIRECTORY: join(scratch, 'nx-cache'),
      NX_WORKSPACE_DATA_DIRECTORY: join(scratch, 'nx-data'),
      NX_DAEMON: 'false',
      NX_TUI: 'false',
      NX_NO_CLOUD: 'true',
      NX_SKIP_NX_CACHE: 'false',
    };
    delete env.SPHEREFACE_NATIVE_REQUIRED;
    const nx = (extra: Record<string, string>) =>
      execFileSync(join(repo, 'node_modules', '.bin', 'nx'), ['run', '@sphereface/common:test', '--outputStyle=static'], {
        cwd: repo,
        env: { ...env, ...extra },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const replayed = (output: string) => /existing outputs match the cache|local cache/i.test(output);
    expect(replayed(nx({}))).toBe(false);
    expect(replayed(nx({})), 'a second identical run is replayed (the cache works at all)').toBe(true);
    expect(replayed(nx({ SPHEREFACE_NATIVE_REQUIRED: '1' })), 'a required run must not replay a result cached without it').toBe(false);
  }, 120_000);
});

describe('the README test command', () => {
  it('runs every suite for real and is what .ci/run calls after set-up', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toContain('--skip-nx-cache');
    expect(pkg.scripts['setup-and-test']).toBe('bash scripts/setup.sh && npm test');
    expect(readFileSync(join(repo, '.ci', 'run'), 'utf8')).toMatch(/^npm run setup-and-test$/m);
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toContain('npm run setup-and-test');
  });
});
