import { describe, expect, it } from 'vitest';
import { psi } from '@sphereface/loss';
import { decisionRegionsFigure, lambdaFigure, psiFigure } from './geometry';

describe('geometry figures', () => {
  it('plots ψ for each margin from the library function', () => {
    const figure = psiFigure([1, 4], 181);
    expect(figure.data).toHaveLength(2);
    const m4 = figure.data[1] as { x: number[]; y: number[] };
    expect(m4.x[0]).toBe(0);
    expect(m4.x[180]).toBeCloseTo(180, 9);
    expect(m4.y[90]).toBeCloseTo(psi(Math.PI / 2, 4), 12);
    expect(m4.y[180]).toBeCloseTo(-7, 9);
  });

  it('plots λ on a log axis, reaching the floor', () => {
    const figure = lambdaFigure([{ name: 'authors', schedule: {}, iterations: 28_000 }]);
    const trace = figure.data[0] as { x: number[]; y: number[] };
    expect(trace.y[0]).toBe(1000);
    expect(trace.y[trace.y.length - 1]).toBe(5);
    expect((figure.layout.yaxis as { type: string }).type).toBe('log');
  });

  it('A-Softmax leaves a margin between the classes where modified softmax splits at the bisector', () => {
    const theta12 = Math.PI / 2;
    const figure = decisionRegionsFigure({ theta12, m: 4, resolution: 201, extent: 1 });
    const heatmaps = figure.data.filter((d) => d.type === 'heatmap') as Array<{ x: number[]; y: number[]; z: number[][] }>;
    expect(heatmaps).toHaveLength(3);
    const at = (panel: number, angle: number) => {
      const { x, y, z } = heatmaps[panel];
      const px = 0.8 * Math.cos(angle);
      const py = 0.8 * Math.sin(angle);
      const i = y.reduce((best, v, k) => (Math.abs(v - py) < Math.abs(y[best] - py) ? k : best), 0);
      const j = x.reduce((best, v, k) => (Math.abs(v - px) < Math.abs(x[best] - px) ? k : best), 0);
      return z[i][j];
    };
    // The class-1 region of A-Softmax ends at θ12/(m+1) = 18°; modified softmax at the bisector, 45°.
    expect(at(1, (10 * Math.PI) / 180)).toBe(1);
    expect(at(2, (10 * Math.PI) / 180)).toBe(1);
    expect(at(1, (40 * Math.PI) / 180)).toBe(1);
    expect(at(2, (40 * Math.PI) / 180)).toBe(0);
    expect(at(1, (50 * Math.PI) / 180)).toBe(2);
    expect(at(2, (80 * Math.PI) / 180)).toBe(2);
  });
});
