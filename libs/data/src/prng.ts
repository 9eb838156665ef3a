/**
 * Seeded randomness. Generator: mulberry32 (Tommy Ettinger's 32-bit state generator; period
 * 2^32, fine for shuffling and coin flips, not for cryptography). Independent streams
 * (per epoch, per purpose) are seeded by mixing the integers with the murmur3 finaliser.
 */
import { mulberry32, shuffleInPlace } from '@sphereface/common';

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A generator for the stream named by (seed, ...keys), e.g. rngFor(seed, epoch, STREAM_FLIP). */
export function rngFor(seed: number, ...keys: number[]): () => number {
  let h = fmix32(seed >>> 0);
  for (const k of keys) h = fmix32((h ^ Math.imul(k >>> 0, 0x9e3779b9)) >>> 0);
  return mulberry32(h);
}

/** The permutation 0..n-1 shuffled with `uniform`. */
export function permutation(n: number, uniform: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, uniform);
}
