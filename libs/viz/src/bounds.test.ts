import { describe, expect, it } from 'vitest';
import { circleRegionsFigure, marginThresholdFigure } from './bounds';

describe('margin-bound figures', () => {
  it('the measured m*(θ12) follows min(2+√3, 1+2π/θ12)', () => {
    const figure = marginThresholdFigure(36);
    const [measured, derived] = figure.data as Array<{ x: number[]; y: number[] }>;
    expect(measured.x).toHaveLength(36);
    measured.y.forEach((m, i) => expect(Math.abs(m - derived.y[i])).toBeLessThan(1e-9));
    expect(measured.y[35]).toBeCloseTo(3, 9);
  });

  it('labels each panel with whether intra ≤ inter just below and above the bound', () => {
    const bound = 2 + Math.sqrt(3);
    const figure = circleRegionsFigure([
      { title: 'below', weights: [0, Math.PI / 2], m: bound - 0.01 },
      { title: 'above', weights: [0, Math.PI / 2], m: bound + 0.01 },
    ]);
    const notes = (figure.layout.annotations as Array<{ text: string }>).map((a) => a.text);
    expect(notes[0]).toMatch(/fails$/);
    expect(notes[1]).toMatch(/holds$/);
    expect(figure.data.filter((d) => d.subplot === 'polar2')).toHaveLength(4);
  });
});
