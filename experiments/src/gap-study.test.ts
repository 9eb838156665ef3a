import { describe, expect, it } from 'vitest';
import { identityConfig } from './config';
import { resolveConfig } from './definitions';
import { GAP_FACTORS, gapStudyMarkdown, gapStudyRuns, gapStudySection } from './gap-study';
import type { RunRecord } from './record';
import { reproductionReport } from './summary';
import { fakeRecord } from './testing/fake-record';

/** A cpu-full table3 record of one gap factor and seed, with the given canonical fold accuracies. */
function gapRecord(variant: string, factor: string, seed: number, folds: number[]): RunRecord {
  const base = fakeRecord({ variant, seed });
  const f = GAP_FACTORS.find((g) => g.name === factor)!;
  const config = identityConfig(resolveConfig('table3', variant, 'cpu-full', seed, f.overrides));
  const mean = folds.reduce((a, b) => a + b, 0) / folds.length;
  return {
    ...base,
    runId: `${factor}-${variant}-${seed}`,
    identity: { ...base.identity, config },
    ...(f.overrides.length ? { overrides: f.overrides } : {}),
    metrics: { ...base.metrics, lfw: [{ protocol: 'canonical', description: 'canonical', mean, std: 0, foldAccuracies: folds }] },
  };
}

const folds = (v: number, step = 0) => Array.from({ length: 10 }, (_, i) => v + (i % 2 ? step : -step));

describe('the full-width gap study', () => {
  // Baseline 0.80 at every fold; init 1 point lower on every fold; bias 1 point higher at seed 0, 3 at seed 1.
  const records = [
    gapRecord('softmax', 'baseline', 0, folds(0.8)),
    gapRecord('softmax', 'baseline', 1, folds(0.8)),
    gapRecord('softmax', 'init', 0, folds(0.79)),
    gapRecord('softmax', 'init', 1, folds(0.79)),
    gapRecord('softmax', 'bias', 0, folds(0.81)),
    gapRecord('softmax', 'bias', 1, folds(0.83)),
    gapRecord('a-softmax-m4', 'baseline', 0, folds(0.81)),
    gapRecord('a-softmax-m4', 'all four', 0, folds(0.82)),
    fakeRecord({ variant: 'softmax', seed: 0 }), // smoke: not part of the study
  ];

  it("groups each factor's runs by its config (profile plus overrides), per variant", () => {
    const softmax = gapStudyRuns(records, 'softmax');
    expect([...softmax.keys()]).toEqual(['baseline', 'init', 'bias']);
    expect(softmax.get('bias')!.map((r) => r.identity.config.seed)).toEqual([0, 1]);
    expect([...gapStudyRuns(records, 'a-softmax-m4').keys()]).toEqual(['baseline', 'all four']);
  });

  it('gives each factor its paired difference against the baseline, per seed and per fold', () => {
    const table = gapStudyMarkdown('Softmax', gapStudyRuns(records, 'softmax'));
    // init: −1 point at both seeds (no spread: the interval is the point). bias: +1 and +3 per seed → mean +2, se 1,
    // t(0.975, 1) = 12.706; per fold ten +1 and ten +3 → sd √(20/19), se 0.2294, t(0.975, 19) = 2.093 → ±0.48.
    expect(table).toMatch(/\| init \| .* \| 0: 79\.00, 1: 79\.00 \| .* \| −1\.00 \[−1\.00, −1\.00\] \(2 seeds\) \| −1\.00 \[−1\.00, −1\.00\] \(20\); 0 % better \|/);
    expect(table).toMatch(/\| bias \| .* \| 0: 81\.00, 1: 83\.00 \| .* \| \+2\.00 \[−10\.71, \+14\.71\] \(2 seeds\) \| \+2\.00 \[\+1\.52, \+2\.48\] \(20\); 100 % better \|/);
    expect(table).toMatch(/\| baseline \| Caffe: .* \| — \| — \|/);
  });

  it('is a section of the report when cpu-full runs of it are recorded, and absent otherwise', () => {
    expect(gapStudySection(records)).toContain('## The full-width gap (cpu-full profile)');
    expect(reproductionReport(records)).toContain('## The full-width gap (cpu-full profile)');
    expect(reproductionReport(records, ['cpu'])).not.toContain('full-width gap');
    expect(gapStudySection([fakeRecord()])).toBe('');
  });
});
