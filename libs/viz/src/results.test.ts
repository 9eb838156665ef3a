import { describe, expect, it } from 'vitest';
import { protocolsFigure, type RecordLike } from './results';

const record = (variant: string, seed: number, canonical: number, noFlip: number): RecordLike => ({
  runId: `${variant}-${seed}`,
  identity: { config: { variant, seed } },
  history: [],
  metrics: {
    lfw: [
      { protocol: 'canonical', mean: canonical, std: 0.015 },
      { protocol: 'no-flip', mean: noFlip, std: 0.02 },
    ],
  },
});

describe('protocolsFigure', () => {
  const records = [record('softmax', 0, 0.803, 0.797), record('softmax', 1, 0.804, 0.796), record('a-softmax-m4', 0, 0.812, 0.807)];
  type Trace = { name: string; x: number[]; y: number[]; error_y: { array: number[] }; marker: { color: string; symbol: string } };

  it('one point per run and protocol with the fold std as error bars, coloured by variant, symbol by seed', () => {
    const traces = protocolsFigure(records).data as unknown as Trace[];
    expect(traces.map((t) => t.name)).toEqual(['softmax (seed 0)', 'softmax (seed 1)', 'a-softmax-m4 (seed 0)']);
    traces[2].y.forEach((v, i) => expect(v).toBeCloseTo([81.2, 80.7][i], 10));
    traces[2].error_y.array.forEach((v, i) => expect(v).toBeCloseTo([1.5, 2][i], 10));
    expect(traces[0].marker.color).toBe(traces[1].marker.color);
    expect(traces[2].marker.color).not.toBe(traces[0].marker.color);
    expect(traces[0].marker.symbol).toBe(traces[2].marker.symbol);
    expect(traces[1].marker.symbol).not.toBe(traces[0].marker.symbol);
    // Runs sit side by side within their protocol.
    expect(traces[0].x[0]).toBeLessThan(traces[1].x[0]);
    traces.forEach((t) => t.x.forEach((x, p) => expect(Math.abs(x - p)).toBeLessThan(0.45)));
  });

  it('zooms the y axis to the runs (not 0–100 %) and states the paper value when it falls outside', () => {
    const figure = protocolsFigure(records, { lfw: 99.42, label: 'paper: 99.42 %' });
    const range = (figure.layout.yaxis as { range: number[] }).range;
    expect(range[0]).toBeLessThan(79.6 - 2); // the lowest point minus its error bar
    expect(range[0]).toBeGreaterThan(70);
    expect(range[1]).toBeGreaterThan(81.2 + 1.5);
    expect(range[1]).toBeLessThan(90);
    expect(figure.layout.shapes).toBeUndefined();
    expect((figure.layout.annotations as Array<{ text: string }>)[0].text).toBe('paper: 99.42 % (above this zoomed axis)');
  });

  it('draws the paper value as a line when it is inside the range', () => {
    const figure = protocolsFigure(records, { lfw: 80.5, label: 'reference' });
    expect((figure.layout.shapes as Array<{ y0: number }>)[0].y0).toBe(80.5);
  });
});
