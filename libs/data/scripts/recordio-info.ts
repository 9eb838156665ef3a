/**
 * Describe an insightface RecordIO training set (train.rec + train.idx [+ property]) and check it.
 * Usage: npx tsx libs/data/scripts/recordio-info.ts DIR [--labels] [--decode N]
 *   (no flag)   layout, counts, property and the provenance summary; reads the .idx, record 0 and the identity records
 *   --labels    also reads every image's header: labels checked against their identity ranges, images per class
 *   --decode N  also decodes the first N images (jpeg-js, the reference decoder) and prints their sizes
 * Exits 1 with the error (file, byte offset or line) on bad input.
 */
import { DataError } from '../src/errors';
import { decodeImageBytes } from '../src/decode';
import { openInsightfaceRecordIo } from '../src/recordio';

const args = process.argv.slice(2);
const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--decode');
if (!dir) {
  console.error('usage: recordio-info.ts DIR [--labels] [--decode N]');
  process.exit(2);
}
const decodeAt = args.indexOf('--decode');
const decodeN = decodeAt >= 0 ? Number(args[decodeAt + 1]) : 0;

try {
  let t = performance.now();
  const ds = openInsightfaceRecordIo(dir);
  const ms = () => `${Math.round(performance.now() - t)} ms`;
  console.log(`${dir}: ${ds.layout} layout, ${ds.numImages} images, ${ds.numIdentities ?? 'no'} identity records (opened in ${ms()})`);
  if (ds.property) console.log(`property: ${ds.property.numClasses} classes, ${ds.property.height}x${ds.property.width}`);
  console.log(JSON.stringify(ds.summary(), null, 2));
  if (args.includes('--labels')) {
    t = performance.now();
    const s = ds.labels();
    const counts = Array.from(s.imagesPerClass).filter((c) => c > 0);
    console.log(
      `labels: ${s.numClasses} classes (max label + 1), ${counts.length} non-empty, ` +
        `${Math.min(...counts)}..${Math.max(...counts)} images per class (${ms()})`,
    );
  }
  for (let i = 0; i < Math.min(decodeN, ds.numImages); i++) {
    const img = ds.image(i);
    const d = decodeImageBytes(img.image, `${ds.file.recPath}@${img.offset}`);
    console.log(`image ${i}: key ${img.key}, label ${img.label}, ${img.image.length} bytes, ${d.width}x${d.height}x${d.channels}`);
  }
  ds.close();
} catch (e) {
  if (!(e instanceof DataError)) throw e;
  console.error(e.message);
  process.exit(1);
}
