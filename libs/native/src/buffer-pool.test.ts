import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool';

describe('BufferPool', () => {
  it('hands back arrays of the asked length, most recently given first', () => {
    const pool = new BufferPool(1 << 20);
    const a = new Float32Array(10), b = new Float32Array(10), c = new Float32Array(7);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    expect(pool.pooledBytes).toBe(27 * 4);
    expect(pool.take(10)).toBe(b);
    expect(pool.take(10)).toBe(a);
    expect(pool.take(10)).toBeUndefined();
    expect(pool.take(7)).toBe(c);
    expect(pool.pooledBytes).toBe(0);
  });

  it('makes room by evicting the least recently used lengths, never exceeding its budget', () => {
    const pool = new BufferPool(100 * 4); // 100 floats
    const big = [new Float32Array(40), new Float32Array(40)];
    big.forEach((x) => pool.give(x)); // 80 floats of length 40
    const small = new Float32Array(10);
    pool.give(small); // 90
    expect(pool.take(10)).toBe(small); // length 10 is now the most recently used
    pool.give(small);
    pool.give(new Float32Array(30)); // 120 > 100: one array of length 40 goes (least recently used)
    expect(pool.pooledBytes).toBe(80 * 4);
    expect(pool.take(40)).toBe(big[0]);
    expect(pool.take(40)).toBeUndefined();
    expect(pool.take(10)).toBe(small);
    expect(pool.take(30)).toBeDefined();
  });

  it('a full pool of one network\'s lengths still takes the next network\'s arrays', () => {
    const pool = new BufferPool(64 * 4);
    for (let i = 0; i < 4; i++) pool.give(new Float32Array(16)); // full
    for (let step = 0; step < 3; step++) {
      const out = pool.take(8) ?? new Float32Array(8);
      pool.give(out);
      expect(pool.take(8)).toBe(out); // kept: the old lengths made room
      pool.give(out);
    }
    expect(pool.pooledBytes).toBeLessThanOrEqual(64 * 4);
  });

  it('drops an array larger than the whole budget', () => {
    const pool = new BufferPool(16);
    pool.give(new Float32Array(5));
    expect(pool.pooledBytes).toBe(0);
    expect(pool.take(5)).toBeUndefined();
  });
});
