// Test helper (not exported): generated face-like JPEGs with known landmarks in a tmp folder.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { type Point } from './align';
import { rngFor } from './prng';

export interface GeneratedFaces {
  imageDir: string;
  items: { rel: string; landmarks: Point[]; label: number; identity: string }[];
}

/** `n` 150×150 JPEGs: smooth colour gradients plus dark discs at jittered 5-point layouts. */
export function generateFaces(n: number, seed = 1): GeneratedFaces {
  const imageDir = mkdtempSync(join(tmpdir(), 'sf-faces-'));
  const rng = rngFor(seed);
  const items: GeneratedFaces['items'] = [];
  const base: Point[] = [[62.8, 67.5], [87.1, 67.0], [74.9, 81.9], [64.6, 94.3], [86.1, 94.0]];
  for (let k = 0; k < n; k++) {
    const identity = `id${k % 4}`;
    const rel = `${identity}/img${k}.jpg`;
    const lm = base.map(([x, y]) => [x + 6 * (rng() - 0.5), y + 6 * (rng() - 0.5)] as Point);
    const data = new Uint8Array(150 * 150 * 4);
    for (let y = 0; y < 150; y++) for (let x = 0; x < 150; x++) {
      const dark = lm.some(([px, py]) => (x - px) ** 2 + (y - py) ** 2 < 9);
      const o = (y * 150 + x) * 4;
      data[o] = dark ? 20 : 80 + x + k;
      data[o + 1] = dark ? 20 : 60 + y;
      data[o + 2] = dark ? 20 : 200 - x / 2;
      data[o + 3] = 255;
    }
    mkdirSync(join(imageDir, identity), { recursive: true });
    writeFileSync(join(imageDir, rel), jpeg.encode({ width: 150, height: 150, data }, 90).data);
    items.push({ rel, landmarks: lm, label: k % 4, identity });
  }
  return { imageDir, items };
}
