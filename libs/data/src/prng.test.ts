import { describe, expect, it } from 'vitest';
import { permutation, rngFor } from './prng';

describe('seeded randomness', () => {
  it('same seed, same permutation; other seed or epoch stream, another', () => {
    const a = permutation(1000, rngFor(7, 0, 1));
    expect(Array.from(permutation(1000, rngFor(7, 0, 1)))).toEqual(Array.from(a));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(permutation(1000, rngFor(8, 0, 1)))).not.toEqual(Array.from(a));
    expect(Array.from(permutation(1000, rngFor(7, 1, 1)))).not.toEqual(Array.from(a));
  });

  it('draws shuffles uniformly (each of the 6 orders of 3 items about 1/6 of the time)', () => {
    const counts = new Map<string, number>();
    const rng = rngFor(3);
    for (let i = 0; i < 60000; i++) {
      const k = Array.from(permutation(3, rng)).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(400); // ~4 sd
  });
});
