/**
 * Writes LFW's 6,000 pairs as an insightface verification `.bin` (what insightface's lfw2pack.py makes): each image
 * aligned to insightface's 112×112 template from the same MTCNN landmarks the project uses, JPEG-encoded (jpeg-js,
 * quality 95), pickled with Python 2.7's protocol 2 layout as the circulated files are: (bins, issame), pair i =
 * images 2i, 2i+1, in pairs.txt order. For `sphereface eval <run> --benchmark FILE`: the same pairs and folds as the
 * canonical LFW protocol, through another alignment and a JPEG round trip, so the two accuracies can be compared.
 * Usage: npx tsx libs/data/scripts/make-lfw-bin.ts --out /tmp/lfw-insightface.bin
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { loadCrops, loadLfwPairs, pairImages } from '../src/index';
import { python2VerificationPickle } from '../src/test-pickle';

const { values } = parseArgs({ options: { out: { type: 'string' }, quality: { type: 'string', default: '95' } } });
if (!values.out) throw new Error('usage: make-lfw-bin.ts --out FILE.bin [--quality 95]');
const lfw = loadLfwPairs();
const images = pairImages(lfw);
const crops = await loadCrops(lfw.imageDir, images, { align: { template: 'insightface-112x112' } });
if (crops.kept.length !== images.length) throw new Error(`${images.length - crops.kept.length} LFW images could not be aligned`);
const size = crops.height * crops.width * 3;
const encoded = images.map((_, i) => {
  const rgba = new Uint8Array(crops.height * crops.width * 4);
  for (let p = 0; p < crops.height * crops.width; p++) {
    rgba.set(crops.data.subarray(i * size + p * 3, i * size + p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ data: rgba, width: crops.width, height: crops.height }, Number(values.quality)).data);
});
const row = new Map(images.map((it, i) => [it.rel, i]));
// lfw2pack reads an image's file each time a pair uses it, so each use is a new Python str, written out in full (the
// same object twice would be a memo reference): a copy per use.
const bins = lfw.pairs.flatMap((p) => [encoded[row.get(p.a)!].slice(), encoded[row.get(p.b)!].slice()]);
writeFileSync(values.out, python2VerificationPickle(bins, lfw.pairs.map((p) => p.same)));
console.log(`wrote ${values.out}: ${lfw.pairs.length} pairs, ${bins.length} 112×112 JPEGs of ${encoded.length} images (quality ${values.quality})`);
