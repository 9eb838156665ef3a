import { describe, expect, it } from 'vitest';
import { binaryThreshold, classRegions, geodesic, intraInter, uniformThreshold } from './decision-rule';
import { numericChecks, sweepBinary } from './numeric';
import { PAPER_CLAIMS, surd } from './types';

const DEG = Math.PI / 180;
const B = 2 + Math.sqrt(3);

describe('decision-rule geometry', () => {
  it('measures geodesic angles across the wrap', () => {
    expect(geodesic(0.1, 2 * Math.PI - 0.1)).toBeCloseTo(0.2, 14);
    expect(geodesic(0, 3 * Math.PI)).toBeCloseTo(Math.PI, 15);
  });

  it('reproduces the worked example m = 4, θ12 = 90°: intra 48°, inter 54°', () => {
    const { intra, inter } = intraInter([0, 90 * DEG], 4);
    expect(intra / DEG).toBeCloseTo(48, 10);
    expect(inter / DEG).toBeCloseTo(54, 10);
    const [r1] = classRegions([0, 90 * DEG], 4);
    expect(r1.end / DEG).toBeCloseTo(18, 10);
    expect(r1.start / DEG).toBeCloseTo(-30, 10);
  });
});

describe('thresholds from the rule alone', () => {
  it('matches 2 + √3 over the θ12 sweep and locates the crossover at (√3 − 1)π', () => {
    const s = sweepBinary();
    expect(Math.abs(s.sup - B)).toBeLessThan(1e-9);
    expect(Math.abs(s.plateauEnd / Math.PI - (Math.sqrt(3) - 1))).toBeLessThan(1e-9);
  });

  it('matches the per-configuration values', () => {
    for (const [deg, want] of [
      [60, B],
      [120, B],
      [135, 11 / 3],
      [150, 3.4],
      [180, 3],
    ]) {
      expect(Math.abs(binaryThreshold(deg * DEG) - want)).toBeLessThan(1e-9);
    }
  });

  it('gives 3 for k = 3…8 uniform classes', () => {
    for (let k = 3; k <= 8; k++) expect(Math.abs(uniformThreshold(k) - 3)).toBeLessThan(1e-9);
  });

  it('passes the paper claims and fails bounds off by 1e-6', () => {
    expect(numericChecks(PAPER_CLAIMS).map((c) => c.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    const wrong = numericChecks({ binary: surd('1999999/1000000', 1, 3), uniform: surd('2999999/1000000') });
    // The antipodal threshold min(B, 3) = 3 does not depend on this change, so it still passes.
    expect(wrong.map((c) => c.verdict)).toEqual(['fail', 'fail', 'pass', 'fail']);
  });
});
