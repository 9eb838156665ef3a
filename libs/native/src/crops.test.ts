import { mulberry32 } from '@sphereface/common';
import { expect, it } from 'vitest';
import { loadNativeAddon, type NativeAddon } from './loader';
import { describeNative } from './testing/native';

/** The normalisation written out per element: (v − 127.5) / 128 of crop i's pixel (margin + y, margin + x), and mirrored. */
function reference(bytes: Uint8Array, count: number, height: number, width: number, margin: number): { original: Float32Array; mirrored: Float32Array } {
  const h = height - 2 * margin, w = width - 2 * margin;
  const original = new Float32Array(count * h * w * 3), mirrored = new Float32Array(count * h * w * 3);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          const v = (bytes[((i * height + margin + y) * width + margin + x) * 3 + c] - 127.5) / 128;
          original[((i * h + y) * w + x) * 3 + c] = v;
          mirrored[((i * h + y) * w + (w - 1 - x)) * 3 + c] = v;
        }
  return { original, mirrored };
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describeNative('normaliseCrops (csrc/crops.cc)', () => {
  const addon = loadNativeAddon() as NativeAddon;

  it.each([
    { count: 3, height: 7, width: 5, margin: 0 },
    { count: 4, height: 9, width: 8, margin: 2 },
    { count: 1, height: 3, width: 3, margin: 1 }, // a 1×1 window: its mirror is itself
    { count: 0, height: 6, width: 6, margin: 1 },
  ])('$count crops of $height×$width, margin $margin: the windows and their mirrors, bit for bit', ({ count, height, width, margin }) => {
    const rng = mulberry32(count * 100 + height);
    const bytes = Uint8Array.from({ length: count * height * width * 3 }, (_, k) => (k < 256 ? k : Math.floor(rng() * 256)));
    const size = count * (height - 2 * margin) * (width - 2 * margin) * 3;
    const original = new Float32Array(size).fill(NaN), mirrored = new Float32Array(size).fill(NaN);
    addon.normaliseCrops(bytes, original, mirrored, count, height, width, margin);
    const want = reference(bytes, count, height, width, margin);
    expect(same(original, want.original)).toBe(true);
    expect(same(mirrored, want.mirrored)).toBe(true);
  });

  it('every byte value: exactly (v − 127.5) / 128', () => {
    const bytes = Uint8Array.from({ length: 256 * 3 }, (_, k) => k % 256);
    const original = new Float32Array(256 * 3), mirrored = new Float32Array(256 * 3);
    addon.normaliseCrops(bytes, original, mirrored, 1, 1, 256, 0);
    expect(Array.from(original)).toEqual(Array.from(bytes, (v) => (v - 127.5) / 128));
    expect(original[0]).toBe(-127.5 / 128);
    expect(original[255]).toBe(127.5 / 128);
  });

  it('reads only the first count crops of a longer byte array; wrong sizes and arguments throw', () => {
    const bytes = Uint8Array.from({ length: 3 * 4 * 4 * 3 }, (_, k) => k % 251);
    const a = new Float32Array(2 * 2 * 2 * 3), b = new Float32Array(2 * 2 * 2 * 3);
    addon.normaliseCrops(bytes, a, b, 2, 4, 4, 1);
    expect(same(a, reference(bytes, 2, 4, 4, 1).original)).toBe(true);
    expect(() => addon.normaliseCrops(bytes, a, b, 4, 4, 4, 1)).toThrow(/bytes: expected at least 192 bytes, got 144/);
    expect(() => addon.normaliseCrops(bytes, new Float32Array(5), b, 2, 4, 4, 1)).toThrow(/original: expected 24 elements, got 5/);
    expect(() => addon.normaliseCrops(bytes, a, new Float32Array(25), 2, 4, 4, 1)).toThrow(/mirrored: expected 24 elements, got 25/);
    expect(() => addon.normaliseCrops(bytes, a, b, 2, 4, 4, 2)).toThrow(/window of at least 1×1/);
    expect(() => addon.normaliseCrops(new Float32Array(10) as never, a, b, 2, 4, 4, 1)).toThrow(/bytes: expected a Uint8Array/);
  });
});
