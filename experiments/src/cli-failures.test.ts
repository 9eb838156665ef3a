import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli';
import { getExperiment } from './definitions';
import { repositoryRoot } from './paths';
import { listRecordIds, writeRecord } from './record';
import { fakeRecord } from './testing/fake-record';

// How the command line behaves when some of what it reads or runs is broken (issue #12 §3).
const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  return { out: () => out.join('\n'), err: () => err.join('\n') };
}

const scratches: string[] = [];

beforeEach(() => {
  const scratch = mkdtempSync(join(tmpdir(), 'sphereface-cli-'));
  scratches.push(scratch);
  process.env.SPHEREFACE_RECORDS = join(scratch, 'records');
  process.env.SPHEREFACE_ARTIFACTS = join(scratch, 'artifacts');
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
  for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('a damaged record', () => {
  function records() {
    const root = repositoryRoot();
    const good = [fakeRecord(), fakeRecord({ seed: 1 })];
    for (const r of good) writeRecord(root, r);
    const bad = fakeRecord({ seed: 2 });
    const path = writeRecord(root, bad);
    truncateSync(path, 400);
    return { good, bad, path };
  }

  it('`results` lists the other runs and marks the damaged one by its file (exit 1)', async () => {
    const { good, bad, path } = records();
    const io = capture();
    expect(await main(['results'])).toBe(1);
    for (const r of good) expect(io.out()).toContain(r.runId);
    expect(io.out()).toMatch(new RegExp(`${bad.runId}\\s+damaged record: ${path}: not valid JSON`));
    expect(io.err()).toContain(path);
  });

  it.each([['export'], ['report', '--check'], ['show', '__BAD__']])('`%s` names the damaged file', async (...argv) => {
    const { bad, path } = records();
    const io = capture();
    expect(await main(argv.map((a) => (a === '__BAD__' ? bad.runId : a)))).toBe(1);
    expect(io.err()).toContain(`${path}: not valid JSON`);
  });
});

describe('sphereface run --all', () => {
  it('runs every variant when some fail, then lists the failures and exits 1', async () => {
    const io = capture();
    const variants = getExperiment('table3').variants.map((v) => v.name);
    // lr 1e8 without clipping: every variant diverges within 3 iterations (a health check stops it).
    const code = await main(['run', 'table3', '--all', '--profile', 'smoke', '--set', 'trainer.learningRate=1e8', '--set', 'trainer.clipGradNorm=null', '--set', 'trainer.iterations=3']);
    expect(code).toBe(1);
    expect(listRecordIds(repositoryRoot())).toHaveLength(variants.length);
    expect(io.err()).toContain(`${variants.length} of ${variants.length} variants failed`);
    for (const v of variants) expect(io.err()).toMatch(new RegExp(`^  ${v}: run [0-9a-f]{16} \\(table3/${v}\\) failed`, 'm'));
  });
});
