/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): period 2^32, fine for shuffling, coin flips and test data,
 * not for cryptography. Its whole state is one uint32, so a training checkpoint stores it as a number.
 */
export class Mulberry32 {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Fisher–Yates shuffle in place (see shuffleInPlace). */
  shuffle<T>(a: T[]): T[] {
    return shuffleInPlace(a, () => this.next());
  }

  get state(): number {
    return this.s;
  }

  set state(value: number) {
    this.s = value >>> 0;
  }
}

/** A mulberry32 stream as a function returning uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.next();
}

/** Fisher–Yates shuffle in place, drawing j uniformly from [0, i] with `uniform` (values in [0, 1)). */
export function shuffleInPlace<A extends unknown[] | Int32Array>(a: A, uniform: () => number): A {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
