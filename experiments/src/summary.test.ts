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
});
