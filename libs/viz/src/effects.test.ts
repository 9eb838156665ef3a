import { describe, expect, it } from 'vitest';
import { depthAccuracyFigure, pairedDifferenceFigure, seedAccuracyFigure, zoomedRange, type ForestPanel } from './effects';

interface Trace {
  name: string;
  x: number[];
  y: number[];
  xaxis?: string;
  yaxis?: string;
  showlegend?: boolean;
  error_x?: { array: number[]; arrayminus: number[]; symmetric: boolean };
  error_y?: { array: number[]; arrayminus: number[]; symmetric: boolean };
}
type Axis = { range: number[]; domain: number[]; tickvals: number[]; ticktext: string[]; title: { text: string }; ticksuffix?: string };

const close = (a: number[], b: number[]) => {
  expect(a).toHaveLength(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
};

describe('zoomedRange', () => {
  it('pads the data span, widens it to minSpan around its middle, and includes the given values', () => {
    close(zoomedRange([80, 82], { padShare: 0.1 }), [79.8, 82.2]);
    close(zoomedRange([80.2, 80.4], { minSpan: 1 }), [79.8, 80.8]);
    close(zoomedRange([1, 2], { include: [0], padShare: 0 }), [0, 2]);
    expect(() => zoomedRange([Number.NaN])).toThrow(/no finite values/);
  });
});

describe('pairedDifferenceFigure (forest plot)', () => {
  const panels: ForestPanel[] = [
    {
      title: 'Table 3',
      rows: [
        { label: 'm1 − softmax', seeds: 3, perSeed: { mean: -0.4, interval: [-1.7, 0.9], n: 3 }, perFold: { mean: -0.4, interval: [-0.85, 0.05], n: 30 } },
        { label: 'm4 − softmax', seeds: 3, perSeed: { mean: 1, interval: [0.6, 1.4], n: 3 }, perFold: { mean: 1, interval: [0.4, 1.6], n: 30 } },
      ],
    },
    { title: 'empty', rows: [] },
    {
      title: 'Losses',
      rows: [{ label: 'arcface − a-softmax', seeds: 1, perSeed: null, perFold: { mean: -12.25, interval: [-12.9, -11.6], n: 10 } }],
    },
  ];
  const figure = pairedDifferenceFigure(panels);
  const traces = figure.data as unknown as Trace[];

  it('draws each panel with its own axes: per seed (mean, interval over seeds) and per fold, first row on top', () => {
    expect(traces).toHaveLength(4); // the empty panel is left out
    const [seed, fold, seed2, fold2] = traces;
    expect(seed.name).toMatch(/^per seed: mean, 95 % CI over training seeds/);
    expect(fold.name).toMatch(/^per fold: mean, 95 % CI over \(seed, LFW fold\) pairs/);
    close(seed.x, [-0.4, 1]);
    close(seed.error_x!.array, [1.3, 0.4]);
    close(seed.error_x!.arrayminus, [1.3, 0.4]);
    expect(seed.error_x!.symmetric).toBe(false);
    close(fold.x, [-0.4, 1]);
    close(fold.error_x!.array, [0.45, 0.6]);
    close(fold.error_x!.arrayminus, [0.45, 0.6]);
    expect(seed.y[0]).toBeGreaterThan(seed.y[1]);
    expect(seed.y[0]).toBeGreaterThan(fold.y[0]);
    expect([seed.xaxis, seed.yaxis, seed2.xaxis, seed2.yaxis]).toEqual(['x', 'y', 'x2', 'y2']);
    expect([seed.showlegend, seed2.showlegend, fold2.showlegend]).toEqual([true, false, false]);
    // One seed: the point alone, at the mean, without an interval.
    close(seed2.x, [-12.25]);
    close(seed2.error_x!.array, [0]);
    const notes = (figure.layout.annotations as Array<{ text: string }>).map((a) => a.text);
    expect(notes).toContain('−12.25 (1 seed: no CI)');
    expect(notes).toContain('+1.00 [+0.60, +1.40]');
  });

  it('each x axis is in percentage points, spans zero and every interval (not 0–100), with a dashed zero line', () => {
    const x = figure.layout.xaxis as Axis;
    const x2 = figure.layout.xaxis2 as Axis;
    expect(x.title.text).toMatch(/percentage points/);
    expect(x.range[0]).toBeLessThan(-1.7);
    expect(x.range[1]).toBeGreaterThan(1.6);
    expect(x.range[1] - x.range[0]).toBeLessThan(5);
    expect(x2.range[0]).toBeLessThan(-12.9);
    expect(x2.range[1]).toBeGreaterThanOrEqual(0);
    const shapes = figure.layout.shapes as Array<{ xref: string; x0: number; x1: number }>;
    expect(shapes.map((s) => [s.xref, s.x0, s.x1])).toEqual([
      ['x', 0, 0],
      ['x2', 0, 0],
    ]);
  });

  it('labels each row with n, and stacks the panels top to bottom by their number of rows', () => {
    const y = figure.layout.yaxis as Axis;
    const y2 = figure.layout.yaxis2 as Axis;
    expect(y.ticktext[0]).toMatch(/^m1 − softmax<br>.*3 seeds; 30 seed × fold pairs/);
    expect(y2.ticktext[0]).toMatch(/1 seed; 10 seed × fold pairs/);
    expect(y.domain[1]).toBe(1);
    expect(y2.domain[1]).toBeLessThan(y.domain[0]);
    expect(y.domain[1] - y.domain[0]).toBeCloseTo(2 * (y2.domain[1] - y2.domain[0]), 12);
    expect(() => pairedDifferenceFigure([{ title: 'none', rows: [] }])).toThrow(/no rows/);
  });
});

describe('seedAccuracyFigure (accuracy against m)', () => {
  const groups = [
    { label: 'softmax', seeds: [0, 1, 2], values: [80.3, 80.4, 80.7], mean: 80.47, interval: [79.86, 81.08] as [number, number] },
    { label: 'm = 1', seeds: [0, 2], values: [80.0, 79.8], mean: 79.9, interval: [78.6, 81.2] as [number, number] },
    { label: 'm = 4', seeds: [1], values: [81.9], mean: 81.9, interval: null },
  ];
  const figure = seedAccuracyFigure(groups, { xTitle: 'margin' });
  const traces = figure.data as unknown as Trace[];

  it('one trace per seed through the groups it ran in, and the mean with its interval', () => {
    expect(traces.map((t) => t.name)).toEqual(['seed 0', 'seed 1', 'seed 2', 'mean over seeds, 95 % CI (Student t)']);
    close(traces[0].y, [80.3, 80.0]);
    close(traces[1].y, [80.4, 81.9]);
    close(traces[2].y, [80.7, 79.8]);
    expect(traces[1].x.map((v) => Math.round(v) + 0)).toEqual([0, 2]); // seed 1 has no m = 1 run: nothing drawn there
    const mean = traces[3];
    close(mean.y, [80.47, 79.9, 81.9]);
    close(mean.error_y!.array, [81.08 - 80.47, 81.2 - 79.9, 0]);
    close(mean.error_y!.arrayminus, [80.47 - 79.86, 79.9 - 78.6, 0]);
  });

  it('zooms the y axis to the values and intervals, in %, with the groups as ticks', () => {
    const y = figure.layout.yaxis as Axis;
    expect(y.range[0]).toBeLessThan(78.6);
    expect(y.range[0]).toBeGreaterThan(77);
    expect(y.range[1]).toBeGreaterThan(81.9);
    expect(y.range[1]).toBeLessThan(83);
    expect(y.ticksuffix).toBe(' %');
    expect(y.title.text).toBe('LFW accuracy (%)');
    expect((figure.layout.xaxis as Axis).ticktext).toEqual(['softmax', 'm = 1', 'm = 4']);
  });
});

describe('depthAccuracyFigure', () => {
  const point = (depth: number, values: number[], interval: [number, number] | null) => ({
    depth,
    seeds: values.map((_, i) => i),
    values,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    interval,
  });
  const figure = depthAccuracyFigure(
    [
      { name: 'A-Softmax m = 4', points: [point(20, [81.7, 82.0], [80, 83.7]), point(4, [81.4, 81.0], [79.2, 83.2]), point(10, [81.3, 80.7], [77.2, 84.8])] },
      { name: 'softmax', note: 'SphereFace-4: the table3/softmax runs', points: [point(4, [80.3, 80.4], [80, 80.7])] },
    ],
    [4, 10, 20],
  );
  const traces = figure.data as unknown as Trace[];

  it('draws every seed and the mean with its interval at each recorded depth, in depth order', () => {
    expect(traces).toHaveLength(4);
    const [aSeeds, aMean, sSeeds, sMean] = traces;
    expect(aSeeds.y).toEqual([81.4, 81.0, 81.3, 80.7, 81.7, 82.0]);
    close(aMean.y, [81.2, 81.0, 81.85]);
    close(aMean.error_y!.array, [2, 3.8, 1.85]);
    expect(aMean.x.map((v) => Math.round(v) + 0)).toEqual([0, 1, 2]);
    expect(sSeeds.y).toEqual([80.3, 80.4]);
    expect(sMean.x.map((v) => Math.round(v) + 0)).toEqual([0]); // nothing invented at 10 and 20
    expect(aMean.name).toBe('A-Softmax m = 4: mean, 95 % CI over seeds');
  });

  it('says which depths a series has no runs at, in its legend entry and in the plot', () => {
    const sMean = traces[3];
    expect(sMean.name).toBe('softmax: mean, 95 % CI over seeds (SphereFace-4: the table3/softmax runs) — SphereFace-10, SphereFace-20: not recorded yet');
    const notes = figure.layout.annotations as Array<{ text: string; x: number }>;
    expect(notes.map((n) => [n.text, Math.round(n.x) + 0])).toEqual([
      ['softmax: not recorded yet', 1],
      ['softmax: not recorded yet', 2],
    ]);
    expect((figure.layout.xaxis as Axis).ticktext).toEqual(['SphereFace-4', 'SphereFace-10', 'SphereFace-20']);
  });

  it('zooms the y axis to the data', () => {
    const y = figure.layout.yaxis as Axis;
    expect(y.range[0]).toBeLessThan(77.2);
    expect(y.range[1]).toBeGreaterThan(84.8);
    expect(y.range[1] - y.range[0]).toBeLessThan(10);
    expect(() => depthAccuracyFigure([{ name: 'none', points: [] }], [4])).toThrow(/no points/);
  });
});
