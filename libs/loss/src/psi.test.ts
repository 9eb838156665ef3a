import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { intervalThresholds, psi } from './psi';
import { chebyshevT, psiDerivativeOfCosine, psiOfCosine } from './tensor-ops';
import { referencePsi } from './testing/reference';

const MARGINS = [1, 2, 3, 4, 5, 6];

describe('psi(θ, m)', () => {
  it.each(MARGINS)('m = %i: ψ(0) = 1 and ψ(π) = 1 − 2m', (m) => {
    expect(psi(0, m)).toBe(1);
    expect(psi(Math.PI, m)).toBeCloseTo(1 - 2 * m, 12);
  });

  it.each(MARGINS)('m = %i: continuous at every kπ/m', (m) => {
    for (let k = 1; k < m; k++) {
      const at = (k * Math.PI) / m;
      const left = psi(at - 1e-12, m);
      const right = psi(at + 1e-12, m);
      expect(Math.abs(left - right)).toBeLessThan(1e-9);
      expect(psi(at, m)).toBeCloseTo(1 - 2 * k, 9);
    }
  });

  it.each(MARGINS)('m = %i: strictly decreasing on [0, π] and never above cos θ', (m) => {
    const steps = 20_000;
    let previous = psi(0, m);
    for (let i = 1; i <= steps; i++) {
      const theta = (i / steps) * Math.PI;
      const value = psi(theta, m);
      expect(value).toBeLessThan(previous);
      expect(value).toBeLessThanOrEqual(Math.cos(theta) + 1e-15);
      previous = value;
    }
  });

  it('equals cos(mθ) on [0, π/m] and the reference elsewhere', () => {
    for (const m of MARGINS) {
      for (let i = 0; i <= 100; i++) {
        const theta = (i / 100) * (Math.PI / m);
        expect(psi(theta, m)).toBeCloseTo(Math.cos(m * theta), 12);
        const anywhere = (i / 100) * Math.PI;
        expect(psi(anywhere, m)).toBeCloseTo(referencePsi(anywhere, m), 12);
      }
    }
  });

  it('rejects a non-integer m and θ outside [0, π]', () => {
    expect(() => psi(1, 2.5)).toThrow(/integer/);
    expect(() => psi(1, 0)).toThrow(/integer/);
    expect(() => psi(-0.1, 4)).toThrow(/\[0, π\]/);
    expect(() => psi(Number.NaN, 4)).toThrow(/\[0, π\]/);
  });

  it('interval thresholds are cos(jπ/m), decreasing', () => {
    expect(intervalThresholds(1)).toEqual([]);
    const t = intervalThresholds(4);
    expect(t).toHaveLength(3);
    expect(t[0]).toBeCloseTo(Math.SQRT1_2, 15);
    expect(t[1]).toBeCloseTo(0, 15);
    expect(t[2]).toBeCloseTo(-Math.SQRT1_2, 15);
  });
});

describe('tensor ψ of cos θ (the form the losses use)', () => {
  const grid = Array.from({ length: 2001 }, (_, i) => -1 + i / 1000);

  it.each(MARGINS)('m = %i: T_m(c) = cos(m·arccos c) and ψ(c) = ψ(arccos c) in float32', (m) => {
    const c = tf.tensor1d(grid);
    const chebyshev = chebyshevT(c, m).arraySync() as number[];
    const values = psiOfCosine(c, m).arraySync() as number[];
    grid.forEach((cos, i) => {
      const theta = Math.acos(cos);
      expect(chebyshev[i]).toBeCloseTo(Math.cos(m * theta), 4);
      expect(values[i]).toBeCloseTo(referencePsi(theta, m), 4);
    });
    c.dispose();
  });

  it.each(MARGINS)('m = %i: dψ/dc matches the autograd derivative of ψ(c)', (m) => {
    const inner = grid.filter((v) => Math.abs(v) < 0.999);
    const c = tf.tensor1d(inner);
    const analytic = psiDerivativeOfCosine(c, m).arraySync() as number[];
    const autograd = tf.grad((x: tf.Tensor) => tf.sum(psiOfCosine(x, m)))(c).arraySync() as number[];
    inner.forEach((_, i) => expect(analytic[i]).toBeCloseTo(autograd[i], 2));
    c.dispose();
  });
});
