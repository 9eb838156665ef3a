import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeImageBytes, decodePng } from './decode';
import { DataError } from './errors';

// A 5×4 image with distinct values per pixel and channel, encoded by fast-png in each layout a training set may use.
const W = 5, H = 4;
const value = (i: number, c: number) => (i * 37 + c * 91 + 13) % 256;

describe('PNG decoding', () => {
  it('decodes RGB, RGBA, grey and grey+alpha, 8- and 16-bit, to the same RGB bytes as written', () => {
    const cases: Array<{ channels: 1 | 2 | 3 | 4; depth: 8 | 16 }> = [
      { channels: 3, depth: 8 }, { channels: 4, depth: 8 }, { channels: 1, depth: 8 }, { channels: 2, depth: 8 }, { channels: 3, depth: 16 },
    ];
    for (const { channels, depth } of cases) {
      const data = depth === 8 ? new Uint8Array(W * H * channels) : new Uint16Array(W * H * channels);
      for (let i = 0; i < W * H; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = value(i, c) * (depth === 16 ? 257 : 1);
      const png = encode({ width: W, height: H, data, channels, depth });
      const img = decodeImageBytes(png, `x-${channels}-${depth}.png`);
      expect([img.width, img.height, img.channels]).toEqual([W, H, 3]);
      const expected = Array.from({ length: W * H * 3 }, (_, k) => value(Math.floor(k / 3), channels >= 3 ? k % 3 : 0));
      expect(Array.from(img.data), `${channels} channels, ${depth}-bit`).toEqual(expected);
    }
  });

  it('reports a corrupt PNG as a DataError naming the file', () => {
    const png = encode({ width: W, height: H, data: new Uint8Array(W * H * 3), channels: 3, depth: 8 });
    const broken = png.slice(0, 40);
    expect(() => decodePng(broken, 'faces/0001/broken.png')).toThrow(DataError);
    expect(() => decodeImageBytes(broken, 'faces/0001/broken.png')).toThrow(/faces\/0001\/broken\.png: corrupt PNG/);
  });
});
