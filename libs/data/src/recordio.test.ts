import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImageBytes } from './decode';
import { DataError } from './errors';
import {
  InsightfaceRecBuilder, RecordIoError, RecordIoFile, RecordIoWriter, frameRecord, openInsightfaceRecordIo, packRecord,
  unpackRecord,
} from './recordio';

// ---------------------------------------------------------------------------------------------------
// helpers

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sf-recordio-'));
  dirs.push(d);
  return d;
}

const bytes = (s: string) => Uint8Array.from(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));
const M = '0A 23 D7 CE'; // the magic as it lies on disk

/** A small RGB JPEG (jpeg-js), distinct per seed. */
function tinyJpeg(seed: number, size = 16): Uint8Array {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const o = (y * size + x) * 4;
    data[o] = (x * 13 + seed * 40) & 255;
    data[o + 1] = (y * 11 + seed * 70) & 255;
    data[o + 2] = (x * y + seed * 25) & 255;
    data[o + 3] = 255;
  }
  return jpeg.encode({ width: size, height: size, data }, 90).data;
}

/**
 * A valid JPEG whose COM segment puts the magic at image offsets 8, 12 and 20: with the 24-byte IRHeader
 * in front (flag 0), payload offsets 32, 36, 44, all 4-aligned, so dmlc splits the record into 4 parts
 * (cflag 1, 2 with length 0, 2, 3).
 */
function jpegWithMagic(seed: number): Uint8Array {
  const j = tinyJpeg(seed);
  const com = bytes(`00 00 ${M} ${M} 01 02 03 04 ${M}`); // 18 bytes of comment
  const seg = new Uint8Array([0xff, 0xfe, 0, com.length + 2, ...com]);
  return new Uint8Array([...j.subarray(0, 2), ...seg, ...j.subarray(2)]);
}

/** train.idx as key → [offset, line] (parsed here independently of the reader). */
function idxOf(dir: string): Map<number, [number, number]> {
  const lines = readFileSync(join(dir, 'train.idx'), 'latin1').split('\n').filter((l) => l !== '');
  return new Map(lines.map((l, i) => [Number(l.split('\t')[0]), [Number(l.split('\t')[1]), i + 1] as [number, number]]));
}
const offsetOf = (dir: string, key: number) => idxOf(dir).get(key)![0];

function patch(path: string, at: number, b: Uint8Array): void {
  const buf = readFileSync(path);
  buf.set(b, at);
  writeFileSync(path, buf);
}

function setIdxOffset(dir: string, key: number, offset: number): void {
  const p = join(dir, 'train.idx');
  const text = readFileSync(p, 'latin1').split('\n').map((l) => (l.split('\t')[0] === String(key) ? `${key}\t${offset}` : l));
  writeFileSync(p, text.join('\n'));
}

/** Error thrown by fn (fails the test if none). */
function caught(fn: () => unknown): RecordIoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecordIoError);
    expect(e).toBeInstanceOf(DataError);
    return e as RecordIoError;
  }
  throw new Error('expected a RecordIoError, nothing was thrown');
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The fixture: identities 0 (keys 1–3), 1 (keys 4–5; key 5 multi-label [1, 1], flag 2) and 3 (keys 6–7;
// key 7 contains the magic → 4 parts), identity records 8–10, record 0 = [8, 11] written last, property 4,112,112.
const IMAGES: { key: number; label: number; bytes: Uint8Array; multi?: number[] }[] = [
  { key: 1, label: 0, bytes: tinyJpeg(1) },
  { key: 2, label: 0, bytes: tinyJpeg(2) },
  { key: 3, label: 0, bytes: tinyJpeg(3) },
  { key: 4, label: 1, bytes: tinyJpeg(4) },
  { key: 5, label: 1, bytes: tinyJpeg(5), multi: [1, 1] },
  { key: 6, label: 3, bytes: tinyJpeg(6) },
  { key: 7, label: 3, bytes: jpegWithMagic(7) },
];

function buildFixture(mutate?: (label: number, images: { key: number; label: number; bytes: Uint8Array; multi?: number[] }[]) => void): string {
  const dir = tempDir();
  const b = new InsightfaceRecBuilder(dir);
  for (const label of [0, 1, 3]) {
    const imgs = IMAGES.filter((im) => im.label === label).map((im) => ({ ...im }));
    mutate?.(label, imgs);
    b.add(label, imgs.map((im) => (im.multi ? { image: im.bytes, label: im.multi } : im.bytes)));
  }
  b.close();
  return dir;
}

// ---------------------------------------------------------------------------------------------------

describe('RecordIO bytes, as dmlc / mx.recordio write them', () => {
  it('29-byte payload → magic, length 29, data, 3 zero bytes: the 40 bytes of data-formats.md §1', () => {
    const payload = Uint8Array.from({ length: 29 }, (_, i) => i + 1);
    const out = frameRecord(payload);
    expect(out.length).toBe(40);
    expect(Buffer.from(out.subarray(0, 8)).toString('hex')).toBe('0a23d7ce1d000000');
    expect(Array.from(out.subarray(8, 37))).toEqual(Array.from(payload));
    expect(Array.from(out.subarray(37))).toEqual([0, 0, 0]);
  });

  it('record 0 of a 1000-image / 10-identity set: flag 2, label 0, ids 0, labels 1001.0 and 1011.0', () => {
    const out = frameRecord(packRecord({ label: [1001, 1011], id: 0, id2: 0 }));
    const zeros16 = Array(16).fill('00').join(' ');
    expect(Array.from(out)).toEqual(Array.from(bytes(`${M} 20 00 00 00  02 00 00 00  00 00 00 00  ${zeros16}  00 40 7A 44 00 C0 7C 44`)));
    // rec_builder.py's RecBuilder writes id2 = 1 in record 0
    const rb = packRecord({ label: [1001, 1011], id: 0, id2: 1 });
    expect(Array.from(rb.subarray(16, 24))).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a scalar label is flag 0 with the label at byte 4; id and id2 are u64 LE', () => {
    const p = packRecord({ label: 5, id: 0x0102030405n, id2: 7 }, bytes('FF D8 FF D9'));
    expect(Array.from(p)).toEqual(Array.from(bytes('00 00 00 00  00 00 A0 40  05 04 03 02 01 00 00 00  07 00 00 00 00 00 00 00  FF D8 FF D9')));
    const u = unpackRecord(p, { file: 'x.rec', offset: 0 });
    expect(u.header).toEqual({ flag: 0, label: 5, labels: null, id: 0x0102030405n, id2: 7n });
    expect(Array.from(u.image)).toEqual([0xff, 0xd8, 0xff, 0xd9]);
  });

  it('the magic at 4-aligned payload offsets splits the record (hand-computed bytes), elsewhere it does not', () => {
    // magic at 0, 8 and 12: parts cflag 1 (empty), 2 (01 02 03 04), 2 (empty), 3 (05 06) + 2 pad bytes
    const p = bytes(`${M} 01 02 03 04 ${M} ${M} 05 06`);
    expect(Array.from(frameRecord(p))).toEqual(Array.from(bytes(
      `${M} 00 00 00 20   ${M} 04 00 00 40 01 02 03 04   ${M} 00 00 00 40   ${M} 02 00 00 60 05 06 00 00`,
    )));
    // magic as the last 4 bytes: cflag 1 with the 4 bytes before, then an empty cflag 3 part
    expect(Array.from(frameRecord(bytes(`01 02 03 04 ${M}`)))).toEqual(Array.from(bytes(`${M} 04 00 00 20 01 02 03 04 ${M} 00 00 00 60`)));
    // magic at offsets 2 and 10 (not 4-aligned): one part of 14 bytes, 2 pad bytes
    expect(Array.from(frameRecord(bytes(`01 02 ${M} 03 04 05 06 ${M}`)))).toEqual(
      Array.from(bytes(`${M} 0E 00 00 00 01 02 ${M} 03 04 05 06 ${M} 00 00`)),
    );
  });

  it('RecordIoWriter: records back to back, .idx lines `<key>\\t<offset>\\n` in the order written; the reader joins parts with the magic re-inserted', () => {
    const dir = tempDir();
    const w = new RecordIoWriter(join(dir, 'a.rec'), join(dir, 'a.idx'));
    const payloads = [bytes('01 02 03'), bytes(`${M} 01 02 03 04 ${M} ${M} 05 06`), new Uint8Array(0), bytes(`01 02 03 04 ${M}`)];
    const keys = [7, 0, 3, 12];
    payloads.forEach((p, i) => w.writeIdx(keys[i], p));
    w.close();
    expect(readFileSync(join(dir, 'a.idx'), 'latin1')).toBe('7\t0\n0\t12\n3\t52\n12\t60\n');
    expect(readFileSync(join(dir, 'a.rec')).length).toBe(80);
    const f = RecordIoFile.open(join(dir, 'a.rec'), join(dir, 'a.idx'));
    expect(payloads.map((_, i) => Array.from(f.read(keys[i]).payload))).toEqual(payloads.map((p) => Array.from(p)));
    expect(keys.map((k) => f.read(k).parts)).toEqual([1, 4, 1, 2]);
    expect([...f.scan()].map((r) => [r.offset, r.end])).toEqual([[0, 12], [12, 52], [52, 60], [60, 80]]);
    expect(Array.from({ length: f.numKeys }, (_, i) => f.keyAt(i))).toEqual(keys);
    f.close();
  });
});

describe('an insightface training set (RecBuilder layout) read back completely', () => {
  const dir = buildFixture();

  it('files: keys 1..7 images, 8..10 identity records, record 0 last; property', () => {
    const idx = idxOf(dir);
    expect([...idx.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]);
    expect(readFileSync(join(dir, 'property'), 'utf8')).toBe('4,112,112\n');
    // key 7 (the magic inside its JPEG) is 4 parts: cflag 1, 2, 2, 3 at the offsets dmlc gives them
    const rec = readFileSync(join(dir, 'train.rec'));
    const at = offsetOf(dir, 7);
    const lrecs = [0, 8 + 32, 8 + 32 + 8, 8 + 32 + 8 + 12].map((d) => rec.readUInt32LE(at + d + 4));
    expect(lrecs.map((l) => [l >>> 29, l & 0x1fffffff])).toEqual([[1, 32], [2, 0], [2, 4], [3, IMAGES[6].bytes.length - 24]]);
  });

  it('counts, identity ranges, labels (label[0] of the multi-label record), property', () => {
    const ds = openInsightfaceRecordIo(dir);
    expect(ds.layout).toBe('header');
    expect(ds.numImages).toBe(7);
    expect(ds.numIdentities).toBe(3);
    expect(ds.identityRanges()).toEqual([{ key: 8, start: 1, end: 4 }, { key: 9, start: 4, end: 6 }, { key: 10, start: 6, end: 8 }]);
    expect(ds.property).toEqual({ numClasses: 4, height: 112, width: 112 });
    expect(ds.header0).toEqual({ flag: 2, label: 0, labels: Float32Array.from([8, 11]), id: 0n, id2: 1n });
    const scan = ds.labels();
    expect(Array.from(scan.labels)).toEqual(IMAGES.map((im) => im.label));
    expect(scan.numClasses).toBe(4);
    expect(Array.from(scan.imagesPerClass)).toEqual([3, 2, 0, 2]);
    expect(Array.from(scan.identityLabels!)).toEqual([0, 1, 3]);
    ds.close();
  });

  it('every image: key, label, header and bytes as written; key 7 comes back joined from its 4 parts', () => {
    const ds = openInsightfaceRecordIo(dir);
    const got = [...ds.images()];
    expect(got.map((g) => [g.index, g.key, g.label, g.offset])).toEqual(IMAGES.map((im, i) => [i, im.key, im.label, offsetOf(dir, im.key)]));
    got.forEach((g, i) => {
      expect(Buffer.from(g.image).equals(Buffer.from(IMAGES[i].bytes))).toBe(true);
      expect(g.header.id).toBe(BigInt(IMAGES[i].key));
      expect(g.header.flag).toBe(IMAGES[i].multi ? 2 : 0);
      expect(g.header.labels ? Array.from(g.header.labels) : g.header.label).toEqual(IMAGES[i].multi ?? IMAGES[i].label);
    });
    expect(ds.file.read(7).parts).toBe(4);
    expect(ds.image(6).image.length).toBe(IMAGES[6].bytes.length);
    ds.close();
  });

  it('the images decode (decodeImageBytes) to the pixels of the bytes that were packed', () => {
    const ds = openInsightfaceRecordIo(dir);
    for (const g of ds.images()) {
      const img = decodeImageBytes(g.image, `key ${g.key}`);
      const ref = decodeImageBytes(IMAGES[g.index].bytes, 'original');
      expect([img.width, img.height, img.channels]).toEqual([16, 16, 3]);
      expect(Buffer.from(img.data).equals(Buffer.from(ref.data))).toBe(true);
    }
    ds.close();
  });

  it('a sequential scan meets every record at its .idx offset, record 0 last', () => {
    const f = RecordIoFile.open(join(dir, 'train.rec'));
    const recs = [...f.scan()];
    const idx = idxOf(dir);
    expect(recs.map((r) => r.offset)).toEqual([...idx.values()].map(([o]) => o));
    expect(recs.map((r) => r.parts)).toEqual([1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1]);
    expect(recs[recs.length - 1].end).toBe(f.recSize);
    expect(unpackRecord(recs[recs.length - 1].payload, { file: 'r', offset: 0 }).header.labels).toEqual(Float32Array.from([8, 11]));
    f.close();
  });

  it('summary: sizes and hashes of .idx, property and header records; paths and image records are not hashed', () => {
    const s = openInsightfaceRecordIo(dir).summary();
    expect(s).toMatchObject({ format: 'mxnet-recordio/insightface', layout: 'header', numImages: 7, numIdentities: 3 });
    expect(s.recBytes).toBe(readFileSync(join(dir, 'train.rec')).length);
    expect(s.idx.bytes).toBe(readFileSync(join(dir, 'train.idx')).length);
    expect(s.headerRecords.count).toBe(4);
    expect(s.hashed).toMatch(/not hashed/);
    expect(openInsightfaceRecordIo(buildFixture()).summary()).toEqual(s); // same content elsewhere: same summary
    // an identity record that changes → another header hash; property changes → another property hash
    const d2 = buildFixture();
    patch(join(d2, 'train.rec'), offsetOf(d2, 9) + 8 + 24 + 4, new Uint8Array(new Float32Array([5]).buffer)); // [4, 6) → [4, 5)
    const s2 = openInsightfaceRecordIo(d2).summary();
    expect(s2.headerRecords.sha256).not.toBe(s.headerRecords.sha256);
    expect(s2.idx).toEqual(s.idx);
    const d3 = buildFixture();
    writeFileSync(join(d3, 'property'), '5,112,112\n');
    expect(openInsightfaceRecordIo(d3).summary().property!.sha256).not.toBe(s.property!.sha256);
    // documented limit: an image byte changed in place (same size) leaves the summary unchanged
    const d4 = buildFixture();
    patch(join(d4, 'train.rec'), offsetOf(d4, 2) + 8 + 24 + 100, bytes('00'));
    expect(openInsightfaceRecordIo(d4).summary()).toEqual(s);
  });

  it('record 0 with flag 0: every .idx key is an image (no identity records)', () => {
    const d = tempDir();
    const w = new RecordIoWriter(join(d, 'train.rec'), join(d, 'train.idx'));
    const labels = [2, 0, 1, 1, 0];
    labels.forEach((l, k) => w.writeIdx(k, packRecord({ label: k === 3 ? [l, 7] : l, id: k }, tinyJpeg(k))));
    w.close();
    const ds = openInsightfaceRecordIo(d);
    expect(ds.layout).toBe('flat');
    expect([ds.numImages, ds.numIdentities, ds.property, ds.identityRanges()]).toEqual([5, null, null, null]);
    expect(Array.from(ds.labels().labels)).toEqual(labels);
    expect(ds.labels().numClasses).toBe(3);
    expect([...ds.images()].map((g) => [g.key, g.label, g.image.length])).toEqual(labels.map((l, k) => [k, l, tinyJpeg(k).length]));
    expect(ds.summary().headerRecords.count).toBe(1);
  });
});

describe('bad input: a RecordIoError naming the file and the byte offset', () => {
  const rec = (d: string) => join(d, 'train.rec');
  const idx = (d: string) => join(d, 'train.idx');

  it('bad magic (sequential scan), and in a later part of a multi-part record', () => {
    const d = buildFixture();
    const at = offsetOf(d, 3);
    patch(rec(d), at, bytes('00 00 00 00'));
    const f = RecordIoFile.open(rec(d));
    const e = caught(() => [...f.scan()]);
    expect(e.kind).toBe('magic');
    expect(e.offset).toBe(at);
    expect(e.message).toBe(`${rec(d)}: byte offset ${at}: bad magic 0x00000000, expected 0xced7230a`);
    const d2 = buildFixture();
    const part3 = offsetOf(d2, 7) + 8 + 32 + 8;
    patch(rec(d2), part3, bytes('0A 23 D7 3E')); // the pre-2016 magic
    const e2 = caught(() => openInsightfaceRecordIo(d2).image(6));
    expect([e2.kind, e2.offset]).toEqual(['magic', part3]);
    expect(e2.message).toMatch(new RegExp(`^${esc(rec(d2))}: byte offset ${part3}: part 3 of the multi-part record at byte offset ${offsetOf(d2, 7)}: bad magic 0x3ed7230a.*pre-2016`));
  });

  it('a truncated record: its length runs past the end of the file (and a cut 8-byte part header)', () => {
    const d = buildFixture();
    const at0 = offsetOf(d, 0); // record 0 is the last record, 40 bytes
    truncateSync(rec(d), at0 + 30);
    const e = caught(() => openInsightfaceRecordIo(d));
    expect([e.kind, e.offset]).toEqual(['truncated', at0]);
    expect(e.message).toBe(`${rec(d)}: byte offset ${at0}: part of 32 bytes (32 with padding) runs past the end of the file: ends at byte ${at0 + 40}, file has ${at0 + 30}`);
    truncateSync(rec(d), at0 + 6);
    const e2 = caught(() => [...RecordIoFile.open(rec(d)).scan()]);
    expect([e2.kind, e2.offset]).toEqual(['truncated', at0]);
    expect(e2.message).toMatch(/8-byte part header runs past the end of the file/);
    // the padding counts: a record whose data fits but whose zero padding is cut
    const d3 = tempDir();
    const w = new RecordIoWriter(rec(d3));
    w.write(bytes('01 02 03 04 05'));
    w.close();
    truncateSync(rec(d3), 13);
    expect(caught(() => RecordIoFile.open(rec(d3)).readAt(0)).kind).toBe('truncated');
  });

  it('an .idx offset that does not point at a record: mid-record, not 4-aligned, a continuation part, past the end', () => {
    const cases: [string, (o: number, d: string) => number, RegExp][] = [
      ['inside', (o) => o + 8, /bad magic 0x00000000/],
      ['unaligned', (o) => o + 2, /not a multiple of 4/],
      ['continuation', (_o, d) => offsetOf(d, 7) + 8 + 32, /a continuation part \(cflag 2\), not the start of a record/],
      ['past end', (_o, d) => readFileSync(rec(d)).length + 4, /at or past the end of the file/],
    ];
    for (const [, to, reason] of cases) {
      const d = buildFixture();
      const bad = to(offsetOf(d, 2), d);
      setIdxOffset(d, 2, bad);
      const e = caught(() => openInsightfaceRecordIo(d).image(1));
      expect([e.kind, e.offset, e.file]).toEqual(['not-a-record', bad, rec(d)]);
      expect(e.message).toMatch(new RegExp(`^${esc(rec(d))}: byte offset ${bad}: key 2 \\(${esc(idx(d))}:2\\): \\.idx offset does not point at a record: `));
      expect(e.message).toMatch(reason);
      expect(caught(() => openInsightfaceRecordIo(d).labels()).kind).toBe('not-a-record'); // the header-only read too
    }
  });

  it('a key missing from the .idx: named with the record that asks for it', () => {
    const d = buildFixture();
    writeFileSync(idx(d), readFileSync(idx(d), 'latin1').split('\n').filter((l) => !l.startsWith('4\t')).join('\n'));
    const e = caught(() => openInsightfaceRecordIo(d));
    expect(e.kind).toBe('missing-key');
    expect(e.message).toBe(
      `${idx(d)}: no key 4 among its 10 keys (record 0 at ${rec(d)} byte offset ${offsetOf(d, 0)} says images are keys 1..7 and identity records keys 8..10)`,
    );
    expect(caught(() => RecordIoFile.open(rec(d), idx(d)).read(99)).message).toBe(`${idx(d)}: no key 99 among its 10 keys`);
  });

  it('a label that is not an integer (scalar, and label[0] of a multi-label record)', () => {
    const d = buildFixture((label, imgs) => {
      if (label === 0) imgs[1] = { ...imgs[1], multi: [0.5, 1] };
    });
    const e = caught(() => openInsightfaceRecordIo(d).labels());
    expect([e.kind, e.offset]).toEqual(['label', offsetOf(d, 2)]);
    expect(e.message).toBe(`${rec(d)}: byte offset ${offsetOf(d, 2)}: image key 2: label[0] 0.5 (of [0.5,1]) is not a non-negative integer class`);
    const d2 = tempDir();
    const w = new RecordIoWriter(rec(d2), idx(d2));
    w.writeIdx(0, packRecord({ label: 1 }, tinyJpeg(0)));
    w.writeIdx(1, packRecord({ label: -2 }, tinyJpeg(1)));
    w.close();
    const e2 = caught(() => [...openInsightfaceRecordIo(d2).images()]);
    expect([e2.kind, e2.offset]).toEqual(['label', offsetOf(d2, 1)]);
    expect(e2.message).toMatch(/image key 1: label -2 is not a non-negative integer class/);
  });

  it('a label that disagrees with its identity range, two identities with one label, a label ≥ num_classes', () => {
    const d = buildFixture((label, imgs) => {
      if (label === 1) imgs[1] = { ...imgs[1], multi: [3, 1] }; // key 5 says class 3 inside identity [4, 6) of class 1
    });
    const e = caught(() => openInsightfaceRecordIo(d).labels());
    expect([e.kind, e.offset]).toEqual(['label', offsetOf(d, 5)]);
    expect(e.message).toBe(
      `${rec(d)}: byte offset ${offsetOf(d, 5)}: image key 5: label 3 disagrees with its identity (record key 9, range [4, 6), label 1 from image key 4)`,
    );
    // the same check while iterating images
    expect(caught(() => [...openInsightfaceRecordIo(d).images()]).offset).toBe(offsetOf(d, 5));
    // identity 3's images all say 1: each range is consistent, but two identities share label 1
    const d2 = buildFixture((label, imgs) => {
      if (label === 3) imgs.forEach((im, i) => (imgs[i] = { ...im, multi: [1] }));
    });
    const e2 = caught(() => openInsightfaceRecordIo(d2).labels());
    expect([e2.kind, e2.offset]).toEqual(['label', offsetOf(d2, 10)]);
    expect(e2.message).toMatch(/identity record key 10 \(range \[6, 8\)\) has label 1, as identity record key 9 \(range \[4, 6\)\) does/);
    const d3 = buildFixture();
    writeFileSync(join(d3, 'property'), '3,112,112\n');
    const e3 = caught(() => openInsightfaceRecordIo(d3).labels());
    expect([e3.kind, e3.offset]).toEqual(['label', offsetOf(d3, 6)]);
    expect(e3.message).toContain(`image key 6: label 3 ≥ num_classes 3 of ${join(d3, 'property')}`);
  });

  it('a first or middle part whose length is not a multiple of 4; an offset not a multiple of 4', () => {
    const d = tempDir();
    // cflag 1 with 5 bytes (+3 pad), then cflag 3: dmlc never writes this
    writeFileSync(rec(d), bytes(`${M} 05 00 00 20 01 02 03 04 05 00 00 00 ${M} 01 00 00 60 06 00 00 00`));
    const f = RecordIoFile.open(rec(d));
    const e = caught(() => f.readAt(0));
    expect([e.kind, e.offset]).toEqual(['alignment', 0]);
    expect(e.message).toBe(`${rec(d)}: byte offset 0: first part of length 5, not a multiple of 4 (dmlc splits records only at 4-aligned offsets)`);
    writeFileSync(rec(d), bytes(`${M} 04 00 00 20 01 02 03 04 ${M} 02 00 00 40 05 06 00 00 ${M} 00 00 00 60`));
    expect(caught(() => RecordIoFile.open(rec(d)).readAt(0))).toMatchObject({ kind: 'alignment', offset: 12 });
    expect(caught(() => RecordIoFile.open(rec(d)).readAt(6))).toMatchObject({ kind: 'alignment', offset: 6 });
  });

  it('parts out of sequence and cflag 4..7', () => {
    const d = tempDir();
    writeFileSync(rec(d), bytes(`${M} 04 00 00 20 01 02 03 04 ${M} 00 00 00 00`)); // first part, then a whole record
    expect(caught(() => RecordIoFile.open(rec(d)).readAt(0)).message).toBe(
      `${rec(d)}: byte offset 12: part 2 of the multi-part record at byte offset 0 has cflag 0; expected 2 (middle) or 3 (last)`,
    );
    writeFileSync(rec(d), bytes(`${M} 00 00 00 A0`));
    expect(caught(() => RecordIoFile.open(rec(d)).readAt(0))).toMatchObject({ kind: 'cflag', offset: 0, reason: 'byte offset 0: cflag 5 (lrec 0xa0000000); only 0..3 exist' });
  });

  it('an IRHeader longer than its payload', () => {
    const d = tempDir();
    const w = new RecordIoWriter(rec(d), idx(d));
    w.writeIdx(0, packRecord({ label: 0 }, tinyJpeg(0)));
    w.writeIdx(1, bytes('00 00 00 00 00 00 00 00 01'));
    const p = packRecord({ label: [1, 2, 3] });
    w.writeIdx(2, p.subarray(0, p.length - 2));
    w.close();
    const ds = openInsightfaceRecordIo(d);
    expect(caught(() => ds.image(1)).message).toBe(`${rec(d)}: byte offset ${offsetOf(d, 1)}: record key 1: payload of 9 bytes is shorter than the 24-byte IRHeader`);
    expect(caught(() => ds.image(2))).toMatchObject({ kind: 'irheader', offset: offsetOf(d, 2) });
    expect(caught(() => ds.image(2)).message).toMatch(/IRHeader flag 3 announces 3 float32 labels \(36 bytes with the header\), but the payload has 34 bytes/);
  });

  it('invalid identity ranges in the header and identity records', () => {
    const d = buildFixture();
    patch(rec(d), offsetOf(d, 9) + 8 + 24, new Uint8Array(new Float32Array([3, 6]).buffer)); // [3, 6) overlaps [1, 4)
    const e = caught(() => openInsightfaceRecordIo(d));
    expect([e.kind, e.offset]).toEqual(['range', offsetOf(d, 9)]);
    expect(e.message).toMatch(/identity record key 9: range \[3, 6\) overlaps identity record key 8's \[1, 4\)/);
    const d2 = buildFixture();
    patch(rec(d2), offsetOf(d2, 10) + 8 + 24, new Uint8Array(new Float32Array([6, 9]).buffer)); // end past a = 8
    expect(caught(() => openInsightfaceRecordIo(d2))).toMatchObject({ kind: 'range', offset: offsetOf(d2, 10) });
    const d3 = buildFixture();
    patch(rec(d3), offsetOf(d3, 0) + 8 + 24, new Uint8Array(new Float32Array([8.5]).buffer));
    expect(caught(() => openInsightfaceRecordIo(d3)).message).toMatch(/record 0 \(header\): label \[8\.5,11\] is not \[a, b\]/);
  });

  it('malformed .idx and property lines: file:line (CRLF and blanks around a line are accepted)', () => {
    const d = buildFixture();
    writeFileSync(idx(d), '1\t0\n2\tx\n');
    expect(caught(() => openInsightfaceRecordIo(d)).message).toBe(`${idx(d)}:2: expected <key>\\t<offset>, got "2\\tx"`);
    writeFileSync(idx(d), '1\t0\n1\t40\n');
    expect(caught(() => openInsightfaceRecordIo(d)).message).toBe(`${idx(d)}:2: key 1 repeats the key of line 1`);
    writeFileSync(idx(d), '0\t0\n4294967296\t40\n');
    expect(caught(() => openInsightfaceRecordIo(d)).message).toBe(`${idx(d)}:2: key 4294967296 is above 2^32 − 1 (not supported)`);
    // what mxnet's line.strip() accepts: CRLF line ends and surrounding blanks
    const d1 = buildFixture();
    writeFileSync(idx(d1), readFileSync(idx(d1), 'latin1').replace(/^(.*)$/gm, (l) => (l ? ` ${l} \r` : l)));
    expect(openInsightfaceRecordIo(d1).summary().numImages).toBe(7);
    expect(Array.from(openInsightfaceRecordIo(d1).labels().labels)).toEqual(IMAGES.map((im) => im.label));
    const d2 = buildFixture();
    writeFileSync(join(d2, 'property'), '4;112;112\n');
    expect(caught(() => openInsightfaceRecordIo(d2)).message).toBe(`${join(d2, 'property')}:1: expected num_classes,height,width, got "4;112;112"`);
  });
});
