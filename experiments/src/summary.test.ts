import { describe, expect, it } from 'vitest';
import { comparisonMarkdown, reproductionReport, scaleDifferences, summarise } from './summary';
import { fakeRecord } from './testing/fake-record';

describe('summaries and the reproduction report', () => {
  const a = fakeRecord({ seed: 0, mean: 0.8 });
  const b = fakeRecord({ seed: 1, mean: 0.9 });

  it('pools seeds: mean and sample std of each protocol, run IDs listed', () => {
    const [s] = summarise([a, b]);
    expect(s.seeds).toEqual([0, 1]);
    expect(s.runIds).toEqual([a.runId, b.runId]);
    expect(s.protocols.canonical.mean).toBeCloseTo(0.85, 12);
    expect(s.protocols.canonical.std).toBeCloseTo(Math.sqrt(0.005), 12);
  });

  it('states what differs from the paper’s setting', () => {
    const text = scaleDifferences(a);
    expect(text).toContain('trained on celeba_subset');
    expect(text).toContain('input 56×48 instead of 112×96');
    expect(text).toContain('LFW 200 of 6,000 pairs');
  });

  it('puts the paper value beside ours, and marks variants without runs', () => {
    const table = comparisonMarkdown('table3', summarise([a, b]), (_, id) => id);
    expect(table).toMatch(/\| a-softmax-m4 \(smoke\) \| 99\.42 \| 85\.00 ± 7\.07 \| 0, 1 \|/);
    expect(table).toMatch(/\| softmax \| 97\.88 \| not run yet \|/);
  });

  it('reports only the requested profiles, and lists override runs apart', () => {
    expect(reproductionReport([a, b])).not.toContain(a.runId);
    expect(reproductionReport([a, b], ['smoke'])).toContain(a.runId);
    const study = { ...fakeRecord({ seed: 2 }), overrides: ['trainer.iterations=300'] };
    const report = reproductionReport([a, study], ['smoke']);
    expect(report).toMatch(/\| a-softmax-m4 \(smoke\) \| 99\.42 \| 80\.00 \| 0 \|/);
    expect(report).toMatch(new RegExp(`### Other recorded runs[\\s\\S]*${study.runId}.*\`trainer.iterations=300\``));
  });

  it('pairs each variant with the baseline by seed and by LFW fold, and tests the trend of m with Page’s L', () => {
    // Fold accuracies chosen so the paired figures can be worked out by hand: m gains 1, 2, 3, 4 points over
    // softmax on every fold of seeds 0 and 1, plus ±0.5 alternating by fold; seed 2 exists for softmax only.
    const withFolds = (variant: string, seed: number, gain: number) => {
      const r = fakeRecord({ variant, seed, mean: 0.8 });
      const folds = Array.from({ length: 10 }, (_, f) => 0.8 + (gain + (gain ? (f % 2 ? -0.5 : 0.5) : 0) + seed * 0.1) / 100);
      r.metrics.lfw[0] = { ...r.metrics.lfw[0], foldAccuracies: folds, mean: folds.reduce((x, y) => x + y, 0) / 10 };
      return r;
    };
    const records = [0, 1].flatMap((seed) => [withFolds('softmax', seed, 0), ...[1, 2, 3, 4].map((m) => withFolds(`a-softmax-m${m}`, seed, m))]);
    records.push(withFolds('softmax', 2, 0));
    const text = comparisonMarkdown('table3', summarise(records), (_, id) => id);
    // m4: every per-seed difference is exactly 4 points (sd 0: the interval is the point); per fold 3.5 or 4.5.
    expect(text).toContain('| a-softmax-m4 − softmax | 0, 1 | +4.00 [+4.00, +4.00] (2 seeds) |');
    const perFold = /\| a-softmax-m1 − softmax \| 0, 1 \| [^|]+ \| \+1\.00 \[\+(\d\.\d\d), \+(\d\.\d\d)\] \(20\) \| 100 % \/ 0 % \/ 0 % \|/.exec(text);
    expect(perFold, text).not.toBeNull();
    // sd of ±0.5 over 20 pairs = 0.5·√(20/19); t(0.975, 19) = 2.093024…
    const half = 2.093024054408263 * (0.5 * Math.sqrt(20 / 19)) / Math.sqrt(20);
    expect(Number(perFold![1])).toBeCloseTo(1 - half, 2);
    expect(Number(perFold![2])).toBeCloseTo(1 + half, 2);
    // Perfectly ordered m on both seeds: L = 2·(1·1 + 2·2 + 3·3 + 4·4) = 60, exact p = 1/(4!)² = 1/576.
    expect(text).toContain(`L = 60, one-sided p = ${(1 / 576).toPrecision(3)} (exact permutation distribution)`);
  });
});
