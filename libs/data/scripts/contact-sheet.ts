/**
 * Contact sheet of aligned faces with the template points drawn, to check alignment by eye.
 * Usage: npx tsx libs/data/scripts/contact-sheet.ts [out.png] [--size 112x96] [--n 40]
 * Writes outside git by default (<repo>/.cache/sphereface-data/contact-sheet.png): the sheet
 * holds dataset images and must not be committed.
 * Red: template points. Green: the face's own landmarks after alignment (their distance from
 * red is the fit residual). Rows: LFW pairs.txt images, then CelebA, then AT&T (centre crop).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from 'fast-png';
import {
  alignFace, alignmentTemplate, applyAffine, centreCrop, decodeImageFile, type Image, loadAttFaces,
  loadCelebaSubset, loadLfwPairs, type Point,
} from '../src/index';
import { cacheDir } from '../src/paths';
import { writeFileAtomic } from '@sphereface/common';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { size: { type: 'string', default: '112x96' }, n: { type: 'string', default: '40' } },
});
const [height, width] = values.size!.split('x').map(Number);
const n = Number(values.n);
const out = positionals[0] ?? cacheDir('contact-sheet.png');
const cols = 10, gap = 2;

const tiles: { img: Image; marks: Point[] }[] = [];
const lfw = loadLfwPairs();
const lfwImages = [...new Set(lfw.pairs.filter((_, i) => i % 150 === 0).flatMap((p) => [p.a, p.b]))].slice(0, n);
for (const rel of lfwImages) {
  const { image, fit } = alignFace(decodeImageFile(join(lfw.imageDir, rel)), lfw.landmarks.entries.get(rel)!.points, { height, width });
  tiles.push({ img: image, marks: lfw.landmarks.entries.get(rel)!.points.map((p) => applyAffine(fit.transform, p)) });
}
const celeba = loadCelebaSubset({ minImagesPerIdentity: 10 });
for (const it of celeba.items.filter((_, i) => i % 300 === 0).slice(0, cols * 2)) {
  const { image, fit } = alignFace(decodeImageFile(join(celeba.imageDir, it.rel)), it.landmarks!, { height, width });
  tiles.push({ img: image, marks: it.landmarks!.map((p) => applyAffine(fit.transform, p)) });
}
const att = loadAttFaces();
for (const it of att.items.filter((_, i) => i % 40 === 0)) {
  tiles.push({ img: centreCrop(decodeImageFile(join(att.imageDir, it.rel)), { height, width }), marks: [] });
}

const rows = Math.ceil(tiles.length / cols);
const SW = cols * (width + gap) + gap, SH = rows * (height + gap) + gap;
const sheet = new Uint8Array(SW * SH * 3).fill(255);
const put = (x: number, y: number, rgb: readonly number[]) => {
  if (x >= 0 && y >= 0 && x < SW && y < SH) sheet.set(rgb, (y * SW + x) * 3);
};
const template = alignmentTemplate({ height, width });
tiles.forEach(({ img, marks }, k) => {
  const ox = gap + (k % cols) * (width + gap), oy = gap + Math.floor(k / cols) * (height + gap);
  for (let y = 0; y < height; y++) sheet.set(img.data.subarray(y * width * 3, (y + 1) * width * 3), ((oy + y) * SW + ox) * 3);
  for (const [x, y] of marks) put(ox + Math.round(x), oy + Math.round(y), [0, 255, 0]);
  for (const [x, y] of template) {
    for (let d = -2; d <= 2; d++) {
      put(ox + Math.round(x) + d, oy + Math.round(y), [255, 0, 0]);
      put(ox + Math.round(x), oy + Math.round(y) + d, [255, 0, 0]);
    }
  }
});
writeFileAtomic(out, encode({ width: SW, height: SH, data: sheet, channels: 3, depth: 8 }));
console.log(`${tiles.length} faces (${lfwImages.length} LFW, CelebA, AT&T) ${height}x${width} -> ${out}`);
