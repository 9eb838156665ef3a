import { describe, expect, it } from 'vitest';
import { angularFisherScore } from './fisher';
import { referenceAngularFisher } from './testing/reference';
import { gaussianSource } from './testing/synthetic';

describe('angularFisherScore', () => {
  it('hand case in 2-D', () => {
    // Class a: (1,0), (0,1), mean (½,½): each cos = 1/√2. Class b: (−1,2), (1,2), mean (0,2): each cos = 2/√5.
    // Global mean (¼, 5/4) ∝ (1,5): cos with (1,1) = 6/√52 = 3/√13, with (0,1) = 5/√26.
    const r = angularFisherScore(
      [
        [1, 0],
        [0, 1],
        [-1, 2],
        [1, 2],
      ],
      ['a', 'a', 'b', 'b'],
    );
    const sw = 2 * (1 - 1 / Math.SQRT2) + 2 * (1 - 2 / Math.sqrt(5));
    const sb = 2 * (1 - 3 / Math.sqrt(13)) + 2 * (1 - 5 / Math.sqrt(26));
    expect(r.withinClassScatter).toBeCloseTo(sw, 14);
    expect(r.betweenClassScatter).toBeCloseTo(sb, 14);
    expect(r.afs).toBeCloseTo(sw / sb, 12);
    expect(r.classes).toBe(2);
  });

  const g = gaussianSource(17);
  /** n per class, k classes, d dims: class direction × spread plus unit noise, all shifted by an offset. */
  const clustered = (k: number, n: number, d: number, spread: number) => {
    const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => spread * g()));
    const rows: number[][] = [];
    const labels: number[] = [];
    centres.forEach((c, ci) => {
      for (let i = 0; i < n; i++) {
        rows.push(c.map((v) => 2 + v + g()));
        labels.push(ci);
      }
    });
    return { rows, labels };
  };

  it('matches the reference, is invariant to scale and label type, and falls as classes separate', () => {
    const { rows, labels } = clustered(12, 9, 20, 1);
    const r = angularFisherScore(rows, labels);
    expect(r.afs).toBeCloseTo(referenceAngularFisher(rows, labels), 12);
    expect(angularFisherScore(rows.map((x) => x.map((v) => 3 * v)), labels).afs).toBeCloseTo(r.afs, 12);
    expect(angularFisherScore(rows, labels.map((l) => `id${l}`)).afs).toBeCloseTo(r.afs, 12);
    const separated = clustered(12, 9, 20, 3);
    expect(angularFisherScore(separated.rows, separated.labels).afs).toBeLessThan(r.afs);
  });

  it('rejects undefined cases', () => {
    expect(() => angularFisherScore([[1, 2], [2, 1]], [0, 0])).toThrow(/at least 2 classes, got 1/);
    expect(() => angularFisherScore([[1, 2], [2, 1]], [0])).toThrow(/1 labels for 2 feature rows/);
    // Centred features: the global mean is 0 and has no direction.
    expect(() => angularFisherScore([[1, 0], [-1, 0], [0, 1], [0, -1]], [0, 1, 0, 1])).toThrow(/global mean/);
    // Class means parallel to the global mean: no between-class scatter.
    expect(() => angularFisherScore([[1, 1], [2, 2]], [0, 1])).toThrow(/between-class scatter is 0/);
  });
});
