import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImageBytes } from './decode';
import { DataError } from './errors';
import { rngFor } from './prng';
import {
  PYTHON3, havePython3, op, pickleOps, python2VerificationPickle, pythonVerificationPickles,
} from './test-pickle';
import { type VerificationBin, readVerificationBin, verificationBinHash } from './verification-bin';

const tmp = mkdtempSync(join(tmpdir(), 'sf-vbin-'));
let files = 0;
/** Write `bytes` as `<tmp>/<k>/<name>` (a folder per file, so the stem is the name's). */
function writeBin(name: string, bytes: Uint8Array): string {
  const dir = join(tmp, String(files++));
  mkdirSync(dir);
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A 112×112 JPEG (the packs' crop size): smooth colours plus seeded noise, a few KB. */
function jpeg112(seed: number): Uint8Array {
  const rng = rngFor(seed);
  const data = new Uint8Array(112 * 112 * 4);
  for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) {
    const o = (y * 112 + x) * 4;
    data[o] = (60 + x + 40 * rng()) | 0;
    data[o + 1] = (50 + y + 40 * rng()) | 0;
    data[o + 2] = (180 - x / 2 + 40 * rng()) | 0;
    data[o + 3] = 255;
  }
  return jpeg.encode({ width: 112, height: 112, data }, 90).data;
}

// 2002 images (1001 pairs): 4 real JPEGs; a 255-byte and a 256-byte string (the SHORT_BINSTRING/BINSTRING
// boundary) holding every byte value 0x00–0xff between them; small distinct strings with bytes ≥ 0x80; two
// repeats of the same object (memo gets: image 1 at index 7, image 300 at index 1500). Lists of > 1000 items are
// written in batches (images: 1000, 1000, 2 → APPENDS ×3; flags: 1000, 1 → APPENDS, APPEND) and the memo
// passes 255 (LONG_BINPUT, LONG_BINGET).
const JPEGS = [1, 2, 3, 4].map(jpeg112);
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
const SHORT_255 = Uint8Array.from({ length: 255 }, (_, i) => i);
const IMAGES: Uint8Array[] = [];
for (let i = 0; i < 2002; i++) {
  if (i < 4) IMAGES.push(JPEGS[i]);
  else if (i === 4) IMAGES.push(SHORT_255);
  else if (i === 5) IMAGES.push(ALL_BYTES);
  else if (i === 7) IMAGES.push(IMAGES[1]);
  else if (i === 1500) IMAGES.push(IMAGES[300]);
  else IMAGES.push(Uint8Array.of(0xff, 0xd8, i & 0xff, 0x80 | (i >> 8)));
}
const SAME = Array.from({ length: 1001 }, (_, i) => i % 3 !== 1);

/** Whether `needle` occurs in `hay`. */
const contains = (hay: Uint8Array, needle: number[]) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

function expectSet(set: VerificationBin, expected: { name: string; protocol: number; writer: string; path: string }): void {
  expect(set.name).toBe(expected.name);
  expect(set.path).toBe(expected.path);
  expect(set.protocol).toBe(expected.protocol);
  expect(set.writer).toBe(expected.writer);
  expect(set.pairs).toBe(1001);
  expect(set.same).toEqual(SAME);
  expect(set.images.length).toBe(IMAGES.length);
  const wrong = set.images.flatMap((img, i) => (Buffer.from(img).equals(Buffer.from(IMAGES[i])) ? [] : [i]));
  expect(wrong).toEqual([]);
  expect(set.images.every((img) => Object.getPrototypeOf(img) === Uint8Array.prototype)).toBe(true);
  expect(set.sha256).toBe(createHash('sha256').update(readFileSync(expected.path)).digest('hex'));
}

/** The DataError readVerificationBin(path) throws (fails the test when it throws none or another error). */
function readError(path: string): DataError {
  try {
    readVerificationBin(path);
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error(`no error reading ${path}`);
}

describe('Python 2 verification sets (protocol 2, images as str), generated as CPython 2.7 writes them', () => {
  it('the generator reproduces data-formats.md §3: ([\\xff\\xd8], [True])', () => {
    expect(hex(python2VerificationPickle([Uint8Array.of(0xff, 0xd8)], [true]))).toBe(
      '80025d71005502ffd87101615d710288618671032e',
    );
  });

  it('the generator matches bytes measured from CPython 2.7.18 pickle and cPickle', () => {
    // python2.7 -c "import pickle, cPickle; m.dumps((['\xff\xd8' * 200, 'a', ''], [True, False]), 2)" for m in both;
    // and cPickle.dumps((['\xff\xd8'], [True]), 2). Covers BINSTRING, SHORT_BINSTRING, 0- and 1-byte strings,
    // APPENDS and APPEND, NEWTRUE/NEWFALSE, and cPickle's memo numbering.
    const strs = [new Uint8Array(400).map((_, i) => (i % 2 ? 0xd8 : 0xff)), Uint8Array.of(0x61), new Uint8Array(0)];
    const big = 'ffd8'.repeat(200);
    expect(hex(python2VerificationPickle(strs, [true, false], 'pickle'))).toBe(
      `80025d7100285490010000${big}7101550161710255007103655d7104288889658671052e`,
    );
    expect(hex(python2VerificationPickle(strs, [true, false], 'cPickle'))).toBe(
      `80025d7101285490010000${big}71025501615500655d710328888965862e`,
    );
    expect(hex(python2VerificationPickle([Uint8Array.of(0xff, 0xd8)], [true], 'cPickle'))).toBe(
      '80025d71015502ffd87102615d71038861862e',
    );
  });

  it.skipIf(!process.env.SPHEREFACE_PYTHON2)('the generator equals Python 2.7 pickle and cPickle on the full fixture (SPHEREFACE_PYTHON2)', () => {
    for (const module of ['pickle', 'cPickle'] as const) {
      const path = pythonVerificationPickles(process.env.SPHEREFACE_PYTHON2!, IMAGES, SAME, { protocols: [2], module, stem: 'lfw' }).get(2)!;
      expectSet(readVerificationBin(path), { name: 'lfw', protocol: 2, writer: 'python2', path });
      const real = readFileSync(path);
      const ours = python2VerificationPickle(IMAGES, SAME, module);
      const firstDiff = ours.findIndex((b, i) => b !== real[i]);
      expect({ length: ours.length, firstDiff }).toEqual({ length: real.length, firstDiff: -1 });
    }
  });

  it('reads every image byte for byte, the flags, protocol 2 and writer python2 (pickle.py, as lfw2pack.py wrote)', () => {
    const bytes = python2VerificationPickle(IMAGES, SAME);
    // The fixture holds what the real files hold: BINSTRING and SHORT_BINSTRING strings, LONG_BINPUT, BINGET and
    // LONG_BINGET, 1000-item APPENDS batches and a 1-item APPEND.
    expect(contains(bytes, [0x54, 0x00, 0x01, 0x00, 0x00, ...ALL_BYTES.subarray(0, 4)])).toBe(true);
    expect(contains(bytes, [0x55, 0xff, 0x00, 0x01, 0x02])).toBe(true);
    expect(contains(bytes, [0x72, 0x00, 0x01, 0x00, 0x00])).toBe(true);
    expect(contains(bytes, [0x68, 0x02])).toBe(true);
    // image 300 again: memo 300 (the list is 0, images 0–6 are 1–7, image 7 is a get, image 8 is 8)
    expect(contains(bytes, [0x6a, 0x2c, 0x01, 0x00, 0x00])).toBe(true);
    // flag 999 (True) ends the 1000-flag APPENDS batch; flag 1000 (False) is appended alone
    expect(contains(bytes, [0x88, 0x65, 0x89, 0x61, 0x86])).toBe(true);
    const path = writeBin('lfw.bin', bytes);
    expectSet(readVerificationBin(path), { name: 'lfw', protocol: 2, writer: 'python2', path });
  });

  it('reads the cPickle variant (memo from 1, outer tuple unmemoized) the same', () => {
    const path = writeBin('agedb_30.bin', python2VerificationPickle(IMAGES, SAME, 'cPickle'));
    expectSet(readVerificationBin(path), { name: 'agedb_30', protocol: 2, writer: 'python2', path });
  });

  it('an image read back decodes to the pixels of the original JPEG (bytes ≥ 0x80 intact)', () => {
    const set = readVerificationBin(writeBin('calfw.bin', python2VerificationPickle(IMAGES, SAME)));
    for (const k of [0, 3]) {
      expect(set.images[k].some((b) => b >= 0x80)).toBe(true);
      const got = decodeImageBytes(set.images[k], `calfw.bin#${k}`);
      const want = decodeImageBytes(JPEGS[k], 'original');
      expect([got.width, got.height]).toEqual([112, 112]);
      expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
    }
  });

  it('sha256 is the file hash, the same as verificationBinHash streams it, and follows a one-byte change', () => {
    const bytes = python2VerificationPickle(IMAGES, SAME);
    const path = writeBin('cplfw.bin', bytes);
    const set = readVerificationBin(path);
    const want = createHash('sha256').update(bytes).digest('hex');
    expect(set.sha256).toBe(want);
    expect(verificationBinHash(path)).toBe(want);
    const changed = Uint8Array.from(bytes);
    changed[2000] ^= 1; // inside an image
    const path2 = writeBin('cplfw.bin', changed);
    expect(verificationBinHash(path2)).not.toBe(want);
    expect(readVerificationBin(path2).sha256).toBe(verificationBinHash(path2));
  });
});

describe('Python 3 verification sets (protocols 2–5, images as bytes), pickled by Debian python3', () => {
  if (!havePython3()) {
    const msg = `${PYTHON3} is missing: install Debian's python3-minimal (scripts/debian-packages.txt pulls it in) or set SPHEREFACE_PYTHON3`;
    if (process.env.CI === 'true') it('needs python3 to make the fixtures', () => expect.fail(msg));
    else it.skip(`SKIPPED: ${msg}`, () => {});
    return;
  }
  const paths = pythonVerificationPickles(PYTHON3, IMAGES, SAME, { protocols: [2, 3, 4, 5], stem: 'cfp_fp' });

  it.each([2, 3, 4, 5])('protocol %i: every image byte for byte, the flags, writer python3', (p) => {
    const path = paths.get(p)!;
    const bytes = readFileSync(path);
    expect([bytes[0], bytes[1]]).toEqual([0x80, p]);
    // How each protocol stores bytes: _codecs.encode reductions at 2, BINBYTES/SHORT_BINBYTES from 3, framed from 4.
    expect(contains(bytes, [...Buffer.from('c_codecs\nencode\n')])).toBe(p === 2);
    expect(contains(bytes, [0x43, 0xff, 0x00, 0x01, 0x02])).toBe(p >= 3);
    expect(bytes[2] === 0x95).toBe(p >= 4); // FRAME
    expectSet(readVerificationBin(path), { name: 'cfp_fp', protocol: p, writer: 'python3', path });
  });

  it('protocol 2 with an empty bytes image (REDUCE __builtin__.bytes ()) reads it as 0 bytes', () => {
    const imgs = [JPEGS[0], new Uint8Array(0)];
    const path = pythonVerificationPickles(PYTHON3, imgs, [false], { protocols: [2] }).get(2)!;
    expect(readFileSync(path).includes('__builtin__\nbytes\n')).toBe(true);
    const set = readVerificationBin(path);
    expect(set.images.map((b) => b.length)).toEqual([JPEGS[0].length, 0]);
    expect(set.writer).toBe('python3');
  });
});

describe('bad files: a DataError naming the file', () => {
  it('not a pickle: a JPEG, an empty file, a protocol-0 pickle, protocol 6', () => {
    const cases: [Uint8Array, RegExp][] = [
      [JPEGS[0], /not a pickle of protocol 2–5: starts with ff d8 ff/],
      [new Uint8Array(0), /not a pickle: empty file/],
      [Buffer.from("((lp0\nS'\\xff'\np1\na(lp2\nI01\natp3\n.", 'latin1'), /not a pickle of protocol 2–5: starts with 28 28 6c 70/],
      [pickleOps(op.proto(6), op.stop), /pickle protocol 6 is not supported/],
    ];
    for (const [bytes, re] of cases) {
      const path = writeBin('lfw.bin', bytes);
      const e = readError(path);
      expect(e.file).toBe(path);
      expect(e.message).toMatch(re);
    }
  });

  it('a missing file', () => {
    const path = join(tmp, 'nowhere', 'lfw.bin');
    expect(readError(path).message).toBe(`${path}: cannot read (ENOENT)`);
    expect(() => verificationBinHash(path)).toThrow(DataError);
  });

  it('a truncated file', () => {
    const bytes = python2VerificationPickle(IMAGES, SAME);
    const path = writeBin('lfw.bin', bytes.subarray(0, bytes.length >> 1));
    expect(readError(path).message).toMatch(/corrupt pickle: .*Unexpected end of file/);
  });

  it('not a 2-tuple, or items that are not lists', () => {
    const img = op.shortBinstring([0xff, 0xd8]);
    const cases: [number[][], RegExp][] = [
      [[op.proto(2), op.emptyList, img, op.append, op.emptyList, op.newTrue, op.append, op.binint1(7), op.tuple3, op.stop],
        /expected a 2-tuple \(images, issame_list\), found a tuple or list of 3/],
      [[op.proto(2), op.emptyDict, op.stop], /expected a 2-tuple .*found a dict or object/],
      [[op.proto(2), op.emptyDict, op.emptyList, op.newTrue, op.append, op.tuple2, op.stop],
        /first item \(images\) is a dict or object, expected a list/],
      [[op.proto(2), op.emptyList, op.binunicode('no'), op.tuple2, op.stop],
        /second item \(issame_list\) is a str \(text, 2 characters\), expected a list/],
    ];
    for (const [parts, re] of cases) {
      const path = writeBin('cfp_fp.bin', pickleOps(...parts));
      const e = readError(path);
      expect(e.file).toBe(path);
      expect(e.message).toMatch(re);
    }
  });

  it('counts that disagree (images ≠ 2 × flags), and no pairs at all', () => {
    // data-formats.md §3's example: 1 image, 1 flag.
    const path = writeBin('lfw.bin', python2VerificationPickle([Uint8Array.of(0xff, 0xd8)], [true]));
    expect(readError(path).message).toBe(
      `${path}: 1 images for 1 flags: expected 2 × 1 = 2 (pair i is images 2i and 2i+1)`,
    );
    const path2 = writeBin('lfw.bin', python2VerificationPickle(IMAGES.slice(0, 2001), SAME));
    expect(readError(path2).message).toMatch(/2001 images for 1001 flags/);
    const empty = writeBin('lfw.bin', python2VerificationPickle([], []));
    expect(readError(empty).message).toMatch(/no pairs/);
  });

  it('an image that is not bytes (text, a number)', () => {
    const good = op.shortBinstring([0xff, 0xd8]);
    for (const [bad, re] of [
      [op.binunicode('ÿØ'), /image 1 is a str \(text, 2 characters\), expected bytes/],
      [op.binint1(9), /image 1 is a number \(9\), expected bytes/],
    ] as const) {
      const path = writeBin('lfw.bin', pickleOps(op.proto(2), op.emptyList, op.mark, good, bad, op.appends, op.emptyList, op.newTrue, op.append, op.tuple2, op.stop));
      const e = readError(path);
      expect(e.file).toBe(path);
      expect(e.message).toMatch(re);
    }
  });

  it('a flag that is not a bool', () => {
    const img = op.shortBinstring([0xff, 0xd8]);
    const path = writeBin('lfw.bin', pickleOps(op.proto(2), op.emptyList, op.mark, img, img, op.appends, op.emptyList, op.binint1(1), op.append, op.tuple2, op.stop));
    expect(readError(path).message).toMatch(/issame_list\[0\] is a number \(1\), expected a bool/);
  });

  it('an unknown global (arbitrary callables, numpy arrays) is refused, never called', () => {
    const flags = [op.emptyList, op.newTrue, op.append];
    const cases: [number[][], RegExp][] = [
      [[op.proto(2), op.emptyList, op.global('os', 'system'), op.binunicode('true'), op.tuple1, op.reduce, op.append, ...flags, op.tuple2, op.stop],
        /unknown global os\.system in the pickle; only _codecs\.encode, __builtin__\.bytes, builtins\.bytes/],
      // The start of a numpy ndarray as Python 3 pickles it at protocol 2 (cv2.imencode output).
      [[op.proto(2), op.emptyList, op.global('numpy.core.multiarray', '_reconstruct'), op.global('numpy', 'ndarray'), op.binint1(0), op.tuple1, op.shortBinbytes([0x62]), op.tuple3, op.reduce, op.append, ...flags, op.tuple2, op.stop],
        /unknown global numpy\.core\.multiarray\._reconstruct in the pickle: a numpy array, e\.g\. cv2\.imencode output appended by build_eval_pack\.py/],
      // STACK_GLOBAL (protocol 4) goes through the same gate.
      [[op.proto(4), op.binunicode('builtins'), op.binunicode('eval'), [0x93], op.stop], /unknown global builtins\.eval/],
    ];
    for (const [parts, re] of cases) {
      const path = writeBin('agedb_30.bin', pickleOps(...parts));
      const e = readError(path);
      expect(e.file).toBe(path);
      expect(e.message).toMatch(re);
    }
  });

  it('_codecs.encode other than (str, "latin1"), or with characters above U+00FF', () => {
    const flags = [op.emptyList, op.newTrue, op.append];
    const encode = (text: string, enc: string) => [op.global('_codecs', 'encode'), op.binunicode(text), op.binunicode(enc), op.tuple2, op.reduce];
    for (const [call, re] of [
      [encode('ÿØ', 'utf-8'), /corrupt pickle: _codecs\.encode called with \(a str \(text, 2 characters\), a str \(text, 5 characters\)\), expected \(str, 'latin1'\)/],
      [encode('ÿ€', 'latin1'), /corrupt pickle: _codecs\.encode: character U\+20ac at 1 is not latin-1/],
    ] as const) {
      const path = writeBin('lfw.bin', pickleOps(op.proto(2), op.emptyList, op.mark, ...call, ...call, op.appends, ...flags, op.tuple2, op.stop));
      expect(readError(path).message).toMatch(re);
    }
  });

  it('images that mix Python 2 str and Python 3 bytes', () => {
    const path = writeBin('lfw.bin', pickleOps(
      op.proto(3), op.emptyList, op.mark, op.shortBinstring([0xff, 0xd8]), op.shortBinbytes([0xff, 0xd8]), op.appends,
      op.emptyList, op.newFalse, op.append, op.tuple2, op.stop,
    ));
    expect(readError(path).message).toMatch(/1 images are Python 2 str and 1 are Python 3 bytes/);
  });
});
