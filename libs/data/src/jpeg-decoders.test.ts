import { sha256Hex } from '@sphereface/common';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignmentRecord, DEFAULT_ALIGN, resolveAlign } from './align';
import { cropCacheKey, loadCrops } from './crop-cache';
import { datasetViewHash } from './datasets';
import { DECODER_ID, decodeImageBytes, decodeJpeg, decoderId, DEFAULT_JPEG_DECODER, JPEG_DECODERS, type JpegDecoder } from './decode';
import { DataError } from './errors';
import { cropImage } from './process';
import { dataRoot, fixedView, haveDataset } from './test-data';
import { generateFaces } from './test-images';
import { CropPool } from './worker-pool';

// The two JPEG decoders of data.jpegDecoder: jpeg-js (default) and libjpeg-turbo (@cwasm/jpeg-turbo).
//
// How far apart they may be. Both decode the same DCT coefficients; they differ in the inverse DCT's rounding and, for
// subsampled chroma, in the upsampling (libjpeg-turbo's default "fancy" triangular filter against jpeg-js's own). So:
//  - luma: Y = 0.299 R + 0.587 G + 0.114 B of each output recovers that decoder's Y plane up to the rounding of R, G
//    and B (≤ 0.5) and clamping; the planes differ by the IDCT rounding (±1 mostly). Bound: mean |ΔY| < 1 per image
//    (measured 0.36–0.65 on 700 LFW and CelebA images, every 33rd and 15th of the manifests).
//  - RGB: the chroma upsampling difference is largest at colour edges (up to 69 on single values), but averages
//    ≈ 1 per channel value. Bound: < 3 per image (measured at most 2.68 over the same 700 images, 99th percentile
//    1.92) and < 2 averaged over the images checked (measured 1.29 for the six used here).
//  - not identical: on every 4:2:0 image sampled, 44–72 % of the values differ; asserted > 10 %.

const SAMPLING_420 = [0x22, 0x11, 0x11];

/** Width, height and the components' sampling factors (H << 4 | V) from the JPEG's SOF0/1/2 header. */
function sofOf(bytes: Uint8Array): { width: number; height: number; sampling: number[] } {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) throw new Error(`no marker at ${i}`);
    const marker = bytes[i + 1];
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker >= 0xc0 && marker <= 0xc2) {
      const n = bytes[i + 9];
      return {
        height: (bytes[i + 5] << 8) | bytes[i + 6],
        width: (bytes[i + 7] << 8) | bytes[i + 8],
        sampling: Array.from({ length: n }, (_, k) => bytes[i + 11 + 3 * k]),
      };
    }
    i += 2 + length;
  }
  throw new Error('no SOF');
}

function difference(a: Uint8Array, b: Uint8Array): { meanAbs: number; meanAbsLuma: number; fractionDiffering: number } {
  let sum = 0, luma = 0, differing = 0;
  for (let i = 0; i < a.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      sum += Math.abs(a[i + c] - b[i + c]);
      if (a[i + c] !== b[i + c]) differing++;
    }
    luma += Math.abs(0.299 * (a[i] - b[i]) + 0.587 * (a[i + 1] - b[i + 1]) + 0.114 * (a[i + 2] - b[i + 2]));
  }
  return { meanAbs: sum / a.length, meanAbsLuma: luma / (a.length / 3), fractionDiffering: differing / a.length };
}

/** The first `n` JPEGs of a shared dataset, in manifest order. */
function firstJpegs(dataset: 'lfw' | 'celeba_subset', n: number): string[] {
  const dir = join(dataRoot.path, dataset);
  return readFileSync(join(dir, 'MANIFEST.sha256'), 'utf8')
    .split('\n')
    .map((line) => line.slice(66))
    .filter((rel) => rel.endsWith('.jpg'))
    .slice(0, n)
    .map((rel) => join(dir, rel));
}

const haveLfw = haveDataset('lfw');
const haveCeleba = haveDataset('celeba_subset');
const faces = generateFaces(4, 3); // 150×150 JPEGs written by jpeg-js (4:4:4), with landmarks: always available
const faceBytes = (k: number) => readFileSync(join(faces.imageDir, faces.items[k].rel));

describe('decoder ids', () => {
  it('the default id is the one every cache key and view hash had before decoders were selectable', () => {
    expect(JPEG_DECODERS).toEqual(['jpeg-js', 'libjpeg-turbo']);
    expect(DEFAULT_JPEG_DECODER).toBe('jpeg-js');
    expect(DECODER_ID).toBe('jpeg-js@0.4.4(strict,rgb)+pgm-p5');
    expect(decoderId()).toBe(DECODER_ID);
    expect(decoderId('jpeg-js')).toBe(DECODER_ID);
  });

  it('each decoder has its own id; an unknown one is refused, by resolveAlign too (before any file is read)', () => {
    expect(decoderId('libjpeg-turbo')).toBe('@cwasm/jpeg-turbo@0.1.3(tjDecompress2,rgba->rgb)+pgm-p5');
    expect(new Set(JPEG_DECODERS.map((d) => decoderId(d))).size).toBe(JPEG_DECODERS.length);
    expect(() => decoderId('libjpeg' as JpegDecoder)).toThrow("unknown JPEG decoder 'libjpeg' (known: jpeg-js, libjpeg-turbo)");
    expect(() => resolveAlign({ decoder: 'turbo' as JpegDecoder })).toThrow(/unknown JPEG decoder 'turbo'/);
    expect(resolveAlign({}).decoder).toBe('jpeg-js');
    expect(resolveAlign({ decoder: 'libjpeg-turbo' }).decoder).toBe('libjpeg-turbo');
    expect(DEFAULT_ALIGN.decoder).toBe('jpeg-js');
  });
});

describe('jpeg-js and libjpeg-turbo decode alike', () => {
  it('a generated (4:4:4) JPEG: same size, RGB, close values; the default is jpeg-js', () => {
    const bytes = faceBytes(0);
    const js = decodeJpeg(bytes, 'face0.jpg', 'jpeg-js');
    const turbo = decodeJpeg(bytes, 'face0.jpg', 'libjpeg-turbo');
    for (const img of [js, turbo]) expect([img.width, img.height, img.channels, img.data.length]).toEqual([150, 150, 3, 150 * 150 * 3]);
    const d = difference(js.data, turbo.data);
    expect(d.meanAbs).toBeLessThan(2);
    expect(d.meanAbsLuma).toBeLessThan(1);
    expect(decodeJpeg(bytes, 'face0.jpg').data).toEqual(js.data);
    expect(decodeImageBytes(bytes, 'face0.jpg').data).toEqual(js.data);
    expect(decodeImageBytes(bytes, 'face0.jpg', 'libjpeg-turbo').data).toEqual(turbo.data);
  });

  const files = [...(haveLfw ? firstJpegs('lfw', 3) : []), ...(haveCeleba ? firstJpegs('celeba_subset', 3) : [])];
  it.skipIf(files.length === 0)('real 4:2:0 JPEGs (the first three of LFW and of the CelebA subset): same size, small differences, not identical', () => {
    const means: number[] = [];
    for (const file of files) {
      const bytes = readFileSync(file);
      const sof = sofOf(bytes);
      expect(sof.sampling, `${file} is 4:2:0`).toEqual(SAMPLING_420);
      const js = decodeJpeg(bytes, file, 'jpeg-js');
      const turbo = decodeJpeg(bytes, file, 'libjpeg-turbo');
      for (const img of [js, turbo]) {
        expect([img.width, img.height, img.channels, img.data.length], file).toEqual([sof.width, sof.height, 3, sof.width * sof.height * 3]);
      }
      const d = difference(js.data, turbo.data);
      expect(d.meanAbsLuma, `${file}: mean |ΔY|`).toBeLessThan(1);
      expect(d.meanAbs, `${file}: mean |ΔRGB|`).toBeLessThan(3);
      expect(d.fractionDiffering, `${file}: share of values that differ`).toBeGreaterThan(0.1);
      means.push(d.meanAbs);
    }
    expect(means.reduce((a, b) => a + b, 0) / means.length).toBeLessThan(2);
  });
});

describe('corrupt JPEGs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-corrupt-'));
  const good = faceBytes(1);
  const headerless = Buffer.from(good);
  headerless.fill(0x42, 2, 200); // SOI kept, the tables and frame header overwritten
  const cases: Array<[string, Uint8Array]> = [
    ['truncated.jpg', good.subarray(0, good.length >> 1)],
    ['header.jpg', headerless],
    ['html.jpg', Buffer.from('<html><body>404 Not Found</body></html>\n')], // a failed download saved as .jpg
    ['empty.jpg', new Uint8Array(0)],
  ];

  for (const [name, bytes] of cases) {
    it(`${name}: a DataError naming the file (and the decoder, for libjpeg-turbo)`, () => {
      const path = join(dir, name);
      for (const decoder of JPEG_DECODERS) {
        let error: unknown;
        try {
          decodeJpeg(bytes, path, decoder);
        } catch (e) {
          error = e;
        }
        expect(error, `${decoder} on ${name}`).toBeInstanceOf(DataError);
        expect((error as DataError).file).toBe(path);
        expect((error as DataError).message).toContain(path);
        expect((error as DataError).message).toMatch(/corrupt JPEG/);
        if (decoder === 'libjpeg-turbo') expect((error as DataError).message).toContain('corrupt JPEG (libjpeg-turbo): ');
      }
    });
  }

  // Bad input must not change how later images decode. libjpeg's fatal errors (a non-JPEG file, a broken header)
  // leave @cwasm/jpeg-turbo through its longjmp stub, which throws from inside the WebAssembly module: what the failed
  // call allocated is never freed. A worker thread with its own instance keeps this test's instance intact.
  it('300 non-JPEG files decoded with libjpeg-turbo (onBad skip) do not stop later good images from decoding', async () => {
    const html = join(dir, 'html.jpg');
    writeFileSync(html, cases[2][1]);
    const goodTasks = faces.items.map((it) => ({ path: join(faces.imageDir, it.rel), landmarks: it.landmarks }));
    const tasks = [...Array.from({ length: 300 }, () => ({ path: html, landmarks: null })), ...goodTasks];
    const align = resolveAlign({ decoder: 'libjpeg-turbo' });
    const pool = new CropPool(1, 50);
    let results;
    try {
      results = await pool.run(tasks, align);
    } finally {
      await pool.close();
    }
    expect(results.slice(0, 300).every((r) => !r.ok && r.skipped.file === html)).toBe(true);
    const after = results.slice(300);
    const problems = after.flatMap((r, k) => (r.ok ? [] : [`${faces.items[k].rel}: ${r.skipped.reason}`]));
    expect(problems, 'good images reported as bad after the corrupt ones').toEqual([]);
    after.forEach((r, k) => expect(r.ok && Buffer.from(r.data).equals(Buffer.from(cropImage(goodTasks[k], align)))).toBe(true));
  });
});

describe('the decoder in crop-cache keys, alignment records and view hashes', () => {
  const ds = fixedView();
  const { items } = ds;
  const { decoder: _, ...noDecoder } = DEFAULT_ALIGN;

  it('the default crop-cache key is unchanged, whether the decoder is omitted or jpeg-js (pinned at commit 209692d)', () => {
    const pinned = 'd8cf9bb9f3c72c17501780a112e01c15aa7110398a3cfc92c521c7cd49e9d772';
    expect(cropCacheKey('/nowhere', items, noDecoder)).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, {})).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, DEFAULT_ALIGN)).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, { ...noDecoder, decoder: 'jpeg-js' })).toBe(pinned);
    const cpu = { height: 56, width: 48, allowReflection: true, template: 'sphereface-96x112' as const };
    expect(cropCacheKey('/nowhere', items, cpu)).toBe('3b8bf65d191b4607b61130e9a55675e72555ee975ac1861c6676e3fb81c0e2b2');
    expect(cropCacheKey('/nowhere', items, { ...cpu, decoder: 'jpeg-js' })).toBe('3b8bf65d191b4607b61130e9a55675e72555ee975ac1861c6676e3fb81c0e2b2');
  });

  it('libjpeg-turbo gives another crop-cache key', () => {
    const turbo = cropCacheKey('/nowhere', items, { ...DEFAULT_ALIGN, decoder: 'libjpeg-turbo' });
    expect(turbo).toMatch(/^[0-9a-f]{64}$/);
    expect(turbo).not.toBe(cropCacheKey('/nowhere', items, DEFAULT_ALIGN));
  });

  it('alignmentRecord leaves the decoder out; the view hash keeps the default value and changes for libjpeg-turbo', () => {
    expect(alignmentRecord({ ...DEFAULT_ALIGN, decoder: 'libjpeg-turbo' })).toEqual(alignmentRecord(noDecoder));
    expect(alignmentRecord({ ...DEFAULT_ALIGN, decoder: 'libjpeg-turbo' })).not.toHaveProperty('decoder');
    expect(alignmentRecord(DEFAULT_ALIGN)).toEqual({ height: 112, width: 96, allowReflection: true });
    const pinned = '439155f430c4516ac5c8b645f6118cba8321d348f705ad748b5e9718579587b2'; // datasets.test.ts, commit aefcf6e
    expect(datasetViewHash(ds, noDecoder)).toBe(pinned);
    expect(datasetViewHash(ds, { ...noDecoder, decoder: 'jpeg-js' })).toBe(pinned);
    expect(datasetViewHash(ds, { ...noDecoder, decoder: 'libjpeg-turbo' })).not.toBe(pinned);
  });

  it('loadCrops with libjpeg-turbo: its own key, the libjpeg-turbo crops (on the calling thread and on workers), then a hit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-crops-turbo-'));
    const js = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0 });
    const turbo = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, align: { decoder: 'libjpeg-turbo' } });
    expect([js.status, turbo.status]).toEqual(['miss', 'miss']);
    expect(turbo.key).toBe(cropCacheKey(faces.imageDir, faces.items, { decoder: 'libjpeg-turbo' }));
    expect(turbo.key).not.toBe(js.key);
    expect(js.key).toBe(cropCacheKey(faces.imageDir, faces.items, {}));
    // The crops are libjpeg-turbo's, not jpeg-js's under another key.
    const size = 112 * 96 * 3;
    faces.items.forEach((it, k) => {
      const task = { path: join(faces.imageDir, it.rel), landmarks: it.landmarks };
      expect(Buffer.from(turbo.data.subarray(k * size, (k + 1) * size)).equals(Buffer.from(cropImage(task, { decoder: 'libjpeg-turbo' }))), it.rel).toBe(true);
    });
    expect(Buffer.from(turbo.data).equals(Buffer.from(js.data))).toBe(false);
    expect(difference(turbo.data, js.data).meanAbs).toBeLessThan(2);
    // Built on worker threads (the decoder travels with the alignment): the same bytes.
    const viaWorkers = await loadCrops(faces.imageDir, faces.items, { dir: mkdtempSync(join(tmpdir(), 'sf-crops-turbo-')), workers: 2, align: { decoder: 'libjpeg-turbo' } });
    expect(viaWorkers.key).toBe(turbo.key);
    expect(Buffer.from(viaWorkers.data).equals(Buffer.from(turbo.data))).toBe(true);
    const again = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, align: { decoder: 'libjpeg-turbo' } });
    expect(again.status).toBe('hit');
    expect(sha256Hex(again.data)).toBe(sha256Hex(turbo.data));
  });
});
