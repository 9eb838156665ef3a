import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecordIds, readRecord, runIdOf } from './record';
import { repositoryRoot } from './paths';
import { formatResults } from './report';
import { reproductionReport } from './summary';
import { runExperiment, RunFailedError } from './runner';
import { pairImages } from '@sphereface/data';
import { evaluateLfwProtocols } from '@sphereface/eval';
import { readArtifact } from './artifacts';
import { dataViews } from './views';
import { codeIdentity } from './code-identity';

// End to end at the smoke profile: real CelebA training images and real LFW pairs from the data root.
describe('sphereface run table3 --profile smoke', () => {
  const saved = { records: process.env.SPHEREFACE_RECORDS, artifacts: process.env.SPHEREFACE_ARTIFACTS };
  const scratch = mkdtempSync(join(tmpdir(), 'sphereface-run-'));
  const lines: string[] = [];

  beforeAll(() => {
    process.env.SPHEREFACE_RECORDS = join(scratch, 'records');
    process.env.SPHEREFACE_ARTIFACTS = join(scratch, 'artifacts');
  });
  afterAll(() => {
    for (const [key, value] of [['SPHEREFACE_RECORDS', saved.records], ['SPHEREFACE_ARTIFACTS', saved.artifacts]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('trains, evaluates every protocol and writes a valid record; a second run replays it', async () => {
    const root = repositoryRoot();
    const options = { root, experiment: 'table3', variant: 'a-softmax-m4', profile: 'smoke' as const, seed: 0, log: (l: string) => lines.push(l) };
    const record = await runExperiment(options);
    expect(listRecordIds(root)).toContain(record.runId);
    const stored = readRecord(root, record.runId);
    expect(stored.runId).toBe(runIdOf(stored.identity));
    // The run ID covers the code the run executes (not docs or tests), and the record names those files.
    const code = codeIdentity(root, stored.identity.backend);
    expect(stored.identity.code).toEqual({ hash: code.hash });
    expect(stored.codeFiles).toEqual(code.files);
    expect(Object.keys(stored.codeFiles!)).toEqual(expect.arrayContaining(['experiments/src/runner.ts', 'libs/loss/src/losses/a-softmax.ts', 'package-lock.json']));
    expect(stored.metrics.lfw.map((p) => p.protocol)).toEqual(['canonical', 'best-threshold', 'sum-fusion-l2', 'no-flip']);
    // The recorded protocol results are those of the recorded features: recomputed here from the lfw-features
    // artifact (checked against its sha256) and the LFW view, independently of the runner's evaluation stage.
    const { lfw } = dataViews(stored.identity.config);
    const images = pairImages(lfw!);
    const features = new Float32Array(readArtifact(stored, 'lfw-features.f32', root).slice().buffer);
    const dim = features.length / (2 * images.length);
    expect(Number.isInteger(dim) && dim > 0).toBe(true);
    const row = new Map(images.map((it, i) => [it.rel, i]));
    const rows = (offset: number, side: 'a' | 'b') => lfw!.pairs.map((p) => features.slice((offset + row.get(p[side])!) * dim, (offset + row.get(p[side])! + 1) * dim));
    const again = evaluateLfwProtocols({
      leftOriginal: rows(0, 'a'),
      leftFlipped: rows(images.length, 'a'),
      rightOriginal: rows(0, 'b'),
      rightFlipped: rows(images.length, 'b'),
      same: lfw!.pairs.map((p) => p.same),
    });
    for (const p of stored.metrics.lfw) {
      const want = again.protocols.find((q) => q.name === p.protocol)!;
      expect(p.mean, p.protocol).toBeCloseTo(want.accuracy, 12);
      expect(p.foldAccuracies, p.protocol).toEqual(want.foldAccuracies ?? []);
    }
    expect(stored.metrics.lfw[0].foldAccuracies).toHaveLength(10);
    expect(stored.history.length).toBe(stored.identity.config.trainer.iterations);
    expect(stored.history.every((h) => Number.isFinite(h.loss))).toBe(true);
    // The record keeps selectBackend's whole BackendInfo: a webgpu run carries its adapter and limits, any other run
    // says why webgpu was skipped.
    const backend = stored.backend as { choice: string; tfBackend: string; webgpu?: { adapter: object }; skipped: Record<string, string> };
    expect(backend.tfBackend).toBe(stored.identity.backend);
    if (backend.choice === 'webgpu') expect(backend.webgpu?.adapter).toBeDefined();
    else expect(backend.skipped.webgpu).toMatch(/^webgpu: /);
    expect(stored.artifacts.map((a) => a.name)).toEqual(
      expect.arrayContaining(['backbone/weights.bin', 'head/weights.bin', 'lfw-features.f32']),
    );
    expect(readdirSync(join(scratch, 'artifacts', record.runId))).toEqual(expect.arrayContaining(['backbone', 'head', 'train.jsonl']));

    lines.length = 0;
    const replay = await runExperiment(options);
    expect(replay).toEqual(stored);
    expect(lines.some((l) => l.includes('replaying the recorded result'))).toBe(true);
    expect(lines.some((l) => l.startsWith('[3/5] training'))).toBe(false);
  });

  it('records a run that a health check stops, reports it as failed, and replays the failure instead of retraining', async () => {
    const root = repositoryRoot();
    // lr 1e8 without clipping: the first update sends the loss to infinity or NaN.
    const overrides = ['trainer.learningRate=1e8', 'trainer.clipGradNorm=null', 'trainer.iterations=3'];
    const options = { root, experiment: 'table3', variant: 'softmax', profile: 'smoke' as const, seed: 0, overrides, log: (l: string) => lines.push(l) };
    const error = await runExperiment(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunFailedError);
    const { record } = error as RunFailedError;
    expect((error as Error).message).toMatch(new RegExp(`run ${record.runId} \\(table3/softmax\\) failed: training stopped at iteration \\d+ \\(non-finite\\)`));
    const stored = readRecord(root, record.runId);
    expect(stored).toEqual(JSON.parse(JSON.stringify(record)));
    expect(stored.failure).toMatchObject({ kind: 'non-finite' });
    expect(stored.failure!.iteration).toBeGreaterThan(1);
    expect(stored.metrics.lfw).toEqual([]);
    expect(stored.history.length).toBe(stored.failure!.iteration);
    expect(formatResults([stored])).toContain(`failed at it ${stored.failure!.iteration} (non-finite)`);
    const report = reproductionReport([stored], ['smoke']);
    expect(report).toContain('### Failed runs');
    expect(report).toContain(`iteration ${stored.failure!.iteration} (non-finite)`);

    lines.length = 0;
    const replay = await runExperiment(options).catch((e: unknown) => e);
    expect((replay as Error).message).toContain(`run ${record.runId} (table3/softmax) is recorded as failed`);
    expect(lines.some((l) => l.startsWith('[3/5] training'))).toBe(false);
  });
});
