import { describe, expect, it } from 'vitest';
import { Mulberry32, mulberry32 } from './random';

describe('mulberry32', () => {
  it('reproduces the reference sequence', () => {
    // First outputs of the reference C implementation for seed 0, as uint32 / 2^32 (pinned in libs/data first).
    const r = mulberry32(0);
    expect([r(), r(), r()].map((v) => Math.round(v * 4294967296))).toEqual([1144304738, 1416247, 958946056]);
  });

  it('gives uniforms in [0, 1) with the moments of the uniform distribution', () => {
    const rng = new Mulberry32(1);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.next();
      if (!(v >= 0 && v < 1)) outside++;
      sum += v;
      sumSq += v * v;
    }
    expect(outside).toBe(0);
    // Mean 1/2 and variance 1/12, within ~5 standard errors.
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.011);
    expect(Math.abs(sumSq / n - (sum / n) ** 2 - 1 / 12)).toBeLessThan(0.004);
  });

  it('resumes exactly from its state, and the function form gives the same stream', () => {
    const a = new Mulberry32(42);
    a.next();
    const b = new Mulberry32(0);
    b.state = a.state;
    const f = mulberry32(42);
    f();
    for (let i = 0; i < 5; i++) {
      const v = a.next();
      expect(b.next()).toBe(v);
      expect(f()).toBe(v);
    }
  });

  it('shuffles to a permutation, deterministically per seed', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const s1 = new Mulberry32(7).shuffle([...xs]);
    expect([...s1].sort((p, q) => p - q)).toEqual(xs);
    expect(new Mulberry32(7).shuffle([...xs])).toEqual(s1);
    expect(new Mulberry32(8).shuffle([...xs])).not.toEqual(s1);
  });
});
