import { describe, expect, it } from 'vitest';
import { lambdaAt, lambdaFloorIteration, resolveLambda, SPHEREFACE_LAMBDA_SCHEDULE } from './lambda';

describe('lambdaAt', () => {
  it("follows the authors' schedule max(5, 1000/(1 + 0.12·it))", () => {
    for (const it of [0, 1, 10, 100, 500, 1000, 1658, 1659, 28_000]) {
      expect(lambdaAt(it)).toBeCloseTo(Math.max(5, 1000 / (1 + 0.12 * it)), 9);
    }
    expect(lambdaAt(1)).toBeCloseTo(892.857142857, 6);
    expect(lambdaAt(1658)).toBeGreaterThan(5);
    expect(lambdaAt(1659)).toBe(5);
  });

  it('reaches its floor at iteration 1659 with the default schedule', () => {
    expect(lambdaFloorIteration()).toBe(1659);
    const it = lambdaFloorIteration({ gamma: 0.6 });
    expect(lambdaAt(it, { gamma: 0.6 })).toBe(5);
    expect(lambdaAt(it - 1, { gamma: 0.6 })).toBeGreaterThan(5);
    expect(lambdaFloorIteration({ gamma: 0 })).toBe(Infinity);
  });

  it('honours power and partial schedules', () => {
    expect(lambdaAt(10, { base: 100, gamma: 1, power: 2, lambdaMin: 0 })).toBeCloseTo(100 / 121, 12);
    expect(lambdaAt(10, { lambdaMin: 100 })).toBeCloseTo(Math.max(100, 1000 / 2.2), 9);
  });

  it('accepts a fixed λ', () => {
    expect(lambdaAt(123, 7)).toBe(7);
    expect(lambdaAt(0, 0)).toBe(0);
  });

  it('rejects bad schedules and iterations with named errors', () => {
    expect(() => lambdaAt(-1)).toThrow(/iteration/);
    expect(() => lambdaAt(1, -3)).toThrow(/lambda/);
    expect(() => resolveLambda({ gama: 0.1 } as never)).toThrow(/unknown lambda schedule field 'gama'/);
    expect(() => resolveLambda({ base: Number.NaN })).toThrow(/base/);
  });

  it('returns a copy of the defaults', () => {
    const resolved = resolveLambda(undefined);
    expect(resolved).toEqual(SPHEREFACE_LAMBDA_SCHEDULE);
    expect(resolved).not.toBe(SPHEREFACE_LAMBDA_SCHEDULE);
  });
});
