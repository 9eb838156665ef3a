import { describe, expect, it } from 'vitest';
import { pairedComparisons } from './comparisons';
import { resolveConfig } from './definitions';
import { runIdOf, type RunRecord } from './record';
import { depthFigureData, figuresMarkdown, forestPanels, marginGroups, reportFigures, seedGroup } from './report-figures';
import { summarise } from './summary';
import { fakeRecord } from './testing/fake-record';

/** A smoke-profile record of any experiment and variant whose canonical folds are `base` + `gain` points, ± 0.5 by fold. */
function run(experiment: string, variant: string, seed: number, gain: number, config = resolveConfig(experiment, variant, 'smoke', seed)): RunRecord {
  const r = fakeRecord({ seed });
  r.identity = { ...r.identity, config };
  r.runId = runIdOf(r.identity);
  const folds = Array.from({ length: 10 }, (_, f) => 0.8 + (gain + (f % 2 ? -0.5 : 0.5) + seed * 0.1) / 100);
  r.metrics.lfw[0] = { ...r.metrics.lfw[0], foldAccuracies: folds, mean: folds.reduce((a, b) => a + b, 0) / 10 };
  return r;
}

describe('the report figures’ data (the runs of the paired tables)', () => {
  const table3 = [0, 1].flatMap((seed) => [run('table3', 'softmax', seed, 0), ...[1, 2, 3, 4].map((m) => run('table3', `a-softmax-m${m}`, seed, m))]);
  const depth = [0, 1].flatMap((seed) => [run('depth', 'sphereface4', seed, 4), run('depth', 'sphereface10', seed, 3), run('depth', 'sphereface20', seed, 5)]);
  // An m = 4 run with other settings (a --set study would be kept apart anyway): not current, so never drawn.
  const stale = run('table3', 'a-softmax-m4', 2, 9, { ...resolveConfig('table3', 'a-softmax-m4', 'smoke', 2), trainer: { ...resolveConfig('table3', 'a-softmax-m4', 'smoke', 2).trainer, clipGradNorm: 99 } });
  const summaries = summarise([...table3, ...depth, stale]);

  it('forest rows are the paired comparisons, per seed and per fold, in percentage points', () => {
    const panels = forestPanels(summaries, 'smoke');
    expect(panels.map((p) => p.title)).toEqual(['Table 3 — paired differences', 'Depth study — paired differences']);
    const [t3, d] = panels;
    expect(t3.rows.map((r) => r.label)).toEqual(['a-softmax-m1 − softmax', 'a-softmax-m2 − softmax', 'a-softmax-m3 − softmax', 'a-softmax-m4 − softmax']);
    const m4 = t3.rows[3];
    expect(m4.seeds).toBe(2);
    expect(m4.perSeed!.mean).toBeCloseTo(4, 10);
    expect(m4.perSeed!.interval[0]).toBeCloseTo(4, 10); // both seeds gain exactly 4 points
    expect(m4.perFold.n).toBe(20);
    const c = pairedComparisons('table3', summaries)[0].rows[3].comparison;
    expect(m4.perFold.interval).toEqual(c.perFold.interval);
    expect(d.rows.map((r) => [r.label, Math.round(r.perSeed!.mean * 100) / 100])).toEqual([
      ['sphereface10 − sphereface4', -1],
      ['sphereface20 − sphereface4', 1],
    ]);
    expect(forestPanels(summaries, 'cpu')).toEqual([]);
  });

  it('accuracy against m: softmax then m = 1…4, every seed (%), the mean and its 95 % t interval', () => {
    const groups = marginGroups(summaries, 'smoke');
    expect(groups.map((g) => g.label)).toEqual(['softmax', 'm = 1', 'm = 2', 'm = 3', 'm = 4']);
    const m4 = groups[4];
    expect(m4.seeds).toEqual([0, 1]); // not the stale seed-2 run
    m4.values.forEach((v, i) => expect(v).toBeCloseTo([84, 84.1][i], 10));
    expect(m4.mean).toBeCloseTo(84.05, 10);
    // sd of (84, 84.1) = 0.1/√2; t(0.975, 1) = 12.7062…; half-width = t · sd / √2 = 12.7062 · 0.05.
    expect(m4.interval![1] - m4.mean).toBeCloseTo(12.706204736174705 * 0.05, 8);
    const one = seedGroup('one', summarise([run('table3', 'softmax', 0, 0)])[0]);
    expect(one.interval).toBeNull();
  });

  it('accuracy against depth: A-Softmax from the depth study; softmax where a run with the same settings exists, nothing invented', () => {
    const data = depthFigureData(summaries, 'smoke');
    expect(data.depths).toEqual([4, 10, 20]);
    const [aSoftmax, softmax] = data.series;
    expect(aSoftmax.name).toBe('A-Softmax m = 4');
    expect(aSoftmax.points.map((p) => [p.depth, Math.round(p.mean * 100) / 100])).toEqual([
      [4, 84.05],
      [10, 83.05],
      [20, 85.05],
    ]);
    expect(aSoftmax.note).toBeUndefined();
    // SphereFace-4 softmax exists only in table3 (same settings apart from the loss); 10 and 20 are not recorded.
    expect(softmax.points.map((p) => [p.depth, Math.round(p.mean * 100) / 100])).toEqual([[4, 80.05]]);
    expect(softmax.note).toBe('SphereFace-4: the table3/softmax runs');
    expect(data.missing).toEqual([{ series: 'softmax', depths: [10, 20] }]);
    const caption = reportFigures(summaries, 'smoke').find((f) => f.file === 'depth-accuracy.png')!.caption!;
    expect(caption).toContain('softmax at SphereFace-4: the table3/softmax runs');
    expect(caption).toContain('softmax at SphereFace-10, SphereFace-20: not recorded yet, so not drawn');
    // Without table3's softmax there is no softmax point at all.
    const none = depthFigureData(summarise(depth), 'smoke');
    expect(none.series[1].points).toEqual([]);
    expect(none.missing).toEqual([{ series: 'softmax', depths: [4, 10, 20] }]);
  });

  it('the figures section links every figure, with captions for the result figures', () => {
    const text = figuresMarkdown(summaries, 'smoke');
    expect(text.startsWith('### Figures\n')).toBe(true);
    for (const f of reportFigures(summaries, 'smoke')) expect(text).toContain(`(figures/${f.file})`);
    expect(text).toMatch(/!\[[^\]]+\]\(figures\/paired-differences\.png\)\n\n\*Paired differences on the canonical protocol \(smoke profile\)/);
  });
});
