// MXNet RecordIO as insightface uses it (train.rec + train.idx + property): a reader and a writer.
//
// Framing (dmlc-core src/recordio.cc, include/dmlc/recordio.h): every part is
//   magic u32 0xCED7230A | lrec u32 (cflag = lrec >>> 29, length = lrec & 0x1FFFFFFF) | data | zero pad to 4
// little-endian, 4-byte aligned. The writer splits a payload wherever the magic occurs at a 4-aligned
// offset of the payload, dropping those 4 bytes (cflag 1 first, 2 middle, 3 last; 0 = whole record); the
// reader joins the parts and re-inserts the magic between them.
// Payload (mxnet python/mxnet/recordio.py pack/unpack): IRHeader `IfQQ` (flag u32, label f32, id u64,
// id2 u64; 24 bytes), then, when flag > 0, `flag` float32 labels (the scalar label is then 0 and ignored),
// then the image bytes.
// insightface (recognition/common/rec_builder.py, arcface_torch/dataset.py): record 0 with flag > 0 and
// label [a, b] → images are keys 1..a−1 and identity records keys a..b−1, each with an empty image and
// label [start, end) = the image keys of one identity; record 0 with flag 0 → every .idx key is an image.
// `property` is one line `num_classes,height,width`.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '@sphereface/common';
import { DataError } from './errors';

/** dmlc-core's RecordIO magic (bytes `0A 23 D7 CE` on disk). */
export const RECORDIO_MAGIC = 0xced7230a;
/** dmlc-core before 2016: cflag in the top 2 bits, 30-bit lengths. Recognised only to say so in errors. */
const OLD_MAGIC = 0x3ed7230a;
/** Size of the IRHeader struct `IfQQ` (x86, no padding). */
export const IRHEADER_BYTES = 24;
/** dmlc's limit: `size < 2^29` (the length field has 29 bits). */
export const MAX_RECORD_BYTES = 2 ** 29 - 1;
const MAGIC_BYTES = new Uint8Array([0x0a, 0x23, 0xd7, 0xce]);

export type RecordIoErrorKind =
  | 'magic' // a part does not start with the magic
  | 'truncated' // a part header or its data (with padding) runs past the end of the file
  | 'cflag' // cflag 4..7, or parts out of sequence
  | 'alignment' // an offset that is not a multiple of 4, or a first/middle part whose length is not
  | 'not-a-record' // an .idx offset that does not point at the start of a record
  | 'missing-key' // a key that the .idx does not have
  | 'index' // a malformed .idx or property line
  | 'irheader' // a payload too short for its IRHeader and labels
  | 'label' // a label that is not a non-negative integer, or disagrees with its identity range
  | 'range'; // a header/identity record whose ranges are invalid

/**
 * A RecordIO problem: a DataError (file + reason) that also carries the byte offset in that file,
 * when there is one. The message reads `file: byte offset N: reason` (or `file:line: reason` for .idx
 * and property lines, or `file: reason`).
 */
export class RecordIoError extends DataError {
  constructor(
    readonly kind: RecordIoErrorKind,
    why: string,
    file: string,
    readonly offset?: number,
    line?: number,
  ) {
    super(offset === undefined ? why : `byte offset ${offset}: ${why}`, file, line);
    this.name = 'RecordIoError';
  }
}

const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
const align4 = (n: number) => (n + 3) & ~3;

// ---------------------------------------------------------------------------------------------------
// Framing

/**
 * The bytes dmlc's `RecordIOWriter::WriteRecord` appends for one payload (what `MXRecordIO.write`
 * writes): split at every 4-aligned occurrence of the magic, those 4 bytes dropped, then zero padding.
 */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const len = payload.length;
  if (len > MAX_RECORD_BYTES) throw new RangeError(`RecordIO records must be < 2^29 bytes, got ${len}`);
  const cuts: number[] = [];
  const lowerAlign = len & ~3;
  for (let i = 0; i < lowerAlign; i += 4) {
    if (payload[i] === 0x0a && payload[i + 1] === 0x23 && payload[i + 2] === 0xd7 && payload[i + 3] === 0xce) cuts.push(i);
  }
  const out = new Uint8Array(8 * (cuts.length + 1) + (len - 4 * cuts.length) + (align4(len) - len));
  const view = new DataView(out.buffer);
  let o = 0;
  let dptr = 0;
  const part = (cflag: number, end: number) => {
    view.setUint32(o, RECORDIO_MAGIC, true);
    view.setUint32(o + 4, ((cflag << 29) | (end - dptr)) >>> 0, true);
    out.set(payload.subarray(dptr, end), o + 8);
    o += 8 + end - dptr;
  };
  for (const i of cuts) {
    part(dptr === 0 ? 1 : 2, i);
    dptr = i + 4;
  }
  part(dptr !== 0 ? 3 : 0, len);
  return out; // the zero padding is already there
}

/** One record read from a .rec file. */
export interface RawRecord {
  /** Byte offset of the record's first magic. */
  offset: number;
  /** Byte offset just past the record's last part (and its padding): the next record. */
  end: number;
  /** The payload, parts joined with the magic re-inserted between them. */
  payload: Uint8Array;
  /** Number of parts (1 for cflag 0). */
  parts: number;
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Reason text for a word that should have been the magic. */
function badMagic(word: number): string {
  const note = word === OLD_MAGIC ? ' (the pre-2016 dmlc-core magic with 30-bit lengths, not supported)' : '';
  return `bad magic ${hex32(word)}, expected ${hex32(RECORDIO_MAGIC)}${note}`;
}

// ---------------------------------------------------------------------------------------------------
// IRHeader

/** MXNet's image-record header (`IRHeader`, struct `IfQQ`). */
export interface IRHeader {
  /** 0: the scalar `label` is the label; n > 0: `labels` holds n float32 values and `label` is ignored. */
  flag: number;
  /** The float32 at byte 4 (written 0 when flag > 0). */
  label: number;
  /** The `flag` float32 labels that follow the 24 header bytes, or null when flag is 0. */
  labels: Float32Array | null;
  id: bigint;
  id2: bigint;
}

/** A payload split into its header and its image bytes (mx.recordio.unpack). */
export interface UnpackedRecord {
  header: IRHeader;
  image: Uint8Array;
}

/** The class label insightface's loaders use: the scalar label, or labels[0] for a multi-label record. */
export function classLabel(h: IRHeader): number {
  return h.labels ? h.labels[0] : h.label;
}

/** `where` names the record in errors: the .rec file and the record's byte offset. */
export function unpackRecord(payload: Uint8Array, where: { file: string; offset: number; key?: number }): UnpackedRecord {
  const rec = where.key === undefined ? 'record' : `record key ${where.key}`;
  if (payload.length < IRHEADER_BYTES) {
    throw new RecordIoError('irheader', `${rec}: payload of ${payload.length} bytes is shorter than the 24-byte IRHeader`, where.file, where.offset);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const flag = view.getUint32(0, true);
  const label = view.getFloat32(4, true);
  const id = view.getBigUint64(8, true);
  const id2 = view.getBigUint64(16, true);
  let labels: Float32Array | null = null;
  let start = IRHEADER_BYTES;
  if (flag > 0) {
    const need = IRHEADER_BYTES + 4 * flag;
    if (payload.length < need) {
      throw new RecordIoError(
        'irheader',
        `${rec}: IRHeader flag ${flag} announces ${flag} float32 labels (${need} bytes with the header), but the payload has ${payload.length} bytes`,
        where.file,
        where.offset,
      );
    }
    labels = new Float32Array(flag);
    for (let i = 0; i < flag; i++) labels[i] = view.getFloat32(IRHEADER_BYTES + 4 * i, true);
    start = need;
  }
  return { header: { flag, label, labels, id, id2 }, image: payload.subarray(start) };
}

/** What to pack: a scalar label (flag 0) or a label vector (flag = its length, scalar label 0). */
export interface PackHeader {
  label: number | ArrayLike<number>;
  id?: number | bigint;
  id2?: number | bigint;
}

/** `mx.recordio.pack(IRHeader(0, label, id, id2), image)`: the IRHeader, the float32 labels, the image. */
export function packRecord(header: PackHeader, image: Uint8Array = new Uint8Array(0)): Uint8Array {
  const vec = typeof header.label === 'number' ? null : Array.from(header.label);
  const n = vec ? vec.length : 0;
  const out = new Uint8Array(IRHEADER_BYTES + 4 * n + image.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, n, true);
  view.setFloat32(4, vec ? 0 : (header.label as number), true);
  view.setBigUint64(8, BigInt(header.id ?? 0), true);
  view.setBigUint64(16, BigInt(header.id2 ?? 0), true);
  vec?.forEach((v, i) => view.setFloat32(IRHEADER_BYTES + 4 * i, v, true));
  out.set(image, IRHEADER_BYTES + 4 * n);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The .idx

/** Parsed `.idx`: keys in file order with their offsets and lines. */
interface IdxTable {
  keys: Uint32Array;
  offsets: Float64Array;
  /** key → position in file order (dense table), or a Map for sparse keys. */
  dense: Int32Array | null;
  sparse: Map<number, number> | null;
  bytes: number;
  sha256: string;
}

function parseIdx(buf: Buffer, file: string): IdxTable {
  let cap = Math.max(16, Math.ceil(buf.length / 16));
  let keys = new Uint32Array(cap);
  let offsets = new Float64Array(cap);
  let n = 0;
  let maxKey = -1;
  let lineStart = 0;
  let lineNo = 0;
  while (lineStart < buf.length) {
    let lineEnd = buf.indexOf(0x0a, lineStart);
    if (lineEnd < 0) lineEnd = buf.length;
    lineNo++;
    // mxnet: line.strip().split('\t'); here: optional surrounding whitespace, digits, one tab, digits
    let a = lineStart;
    let b = lineEnd;
    lineStart = lineEnd + 1;
    while (a < b && (buf[a] === 0x20 || buf[a] === 0x09 || buf[a] === 0x0d)) a++;
    while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09 || buf[b - 1] === 0x0d)) b--;
    let key = 0;
    let offset = 0;
    let i = a;
    for (; i < b && buf[i] >= 0x30 && buf[i] <= 0x39; i++) key = key * 10 + buf[i] - 0x30;
    const keyDigits = i - a;
    const tab = i;
    for (i++; i < b && buf[i] >= 0x30 && buf[i] <= 0x39; i++) offset = offset * 10 + buf[i] - 0x30;
    if (keyDigits === 0 || buf[tab] !== 0x09 || i === tab + 1 || i !== b) {
      const text = buf.toString('latin1', a, b);
      throw new RecordIoError('index', `expected <key>\\t<offset>, got ${JSON.stringify(text)}`, file, undefined, lineNo);
    }
    if (key > 0xffffffff) throw new RecordIoError('index', `key ${buf.toString('latin1', a, tab)} is above 2^32 − 1 (not supported)`, file, undefined, lineNo);
    if (!Number.isSafeInteger(offset)) throw new RecordIoError('index', `offset ${buf.toString('latin1', tab + 1, b)} is not a safe integer`, file, undefined, lineNo);
    if (n === cap) {
      cap *= 2;
      const k2 = new Uint32Array(cap);
      k2.set(keys);
      keys = k2;
      const o2 = new Float64Array(cap);
      o2.set(offsets);
      offsets = o2;
    }
    keys[n] = key;
    offsets[n] = offset;
    n++;
    if (key > maxKey) maxKey = key;
  }
  keys = keys.slice(0, n);
  offsets = offsets.slice(0, n);
  let dense: Int32Array | null = null;
  let sparse: Map<number, number> | null = null;
  const duplicate = (pos: number, first: number) => {
    throw new RecordIoError('index', `key ${keys[pos]} repeats the key of line ${first + 1}`, file, undefined, pos + 1);
  };
  if (maxKey < 2 * n + 1024) {
    dense = new Int32Array(maxKey + 1).fill(-1);
    for (let i = 0; i < n; i++) {
      if (dense[keys[i]] >= 0) duplicate(i, dense[keys[i]]);
      dense[keys[i]] = i;
    }
  } else {
    sparse = new Map();
    for (let i = 0; i < n; i++) {
      const prev = sparse.get(keys[i]);
      if (prev !== undefined) duplicate(i, prev);
      sparse.set(keys[i], i);
    }
  }
  return { keys, offsets, dense, sparse, bytes: buf.length, sha256: sha256Hex(buf) };
}

// ---------------------------------------------------------------------------------------------------
// Low-level reader

/** A `.rec` file, with its `.idx` when given: records by key (through the index) or sequentially. */
export class RecordIoFile {
  private fd: number;
  readonly recSize: number;
  private readonly idx: IdxTable | null;

  private constructor(
    readonly recPath: string,
    readonly idxPath: string | null,
  ) {
    this.fd = openSync(recPath, 'r');
    this.recSize = fstatSync(this.fd).size;
    try {
      this.idx = idxPath === null ? null : parseIdx(readFileSync(idxPath), idxPath);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  /** Open `recPath` (and `idxPath`; without one, only sequential reads and reads at an offset work). */
  static open(recPath: string, idxPath?: string): RecordIoFile {
    return new RecordIoFile(recPath, idxPath ?? null);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Number of keys in the .idx (0 without one). */
  get numKeys(): number {
    return this.idx ? this.idx.keys.length : 0;
  }

  /** The i-th key in .idx file order (MXIndexedRecordIO.keys[i]). */
  keyAt(i: number): number {
    return this.requireIdx().keys[i];
  }

  /** Size and sha256 of the .idx. */
  get idxDigest(): { bytes: number; sha256: string } {
    const t = this.requireIdx();
    return { bytes: t.bytes, sha256: t.sha256 };
  }

  private requireIdx(): IdxTable {
    if (!this.idx) throw new Error(`${this.recPath}: opened without an .idx file`);
    return this.idx;
  }

  private position(key: number): number {
    const t = this.requireIdx();
    if (t.dense) return Number.isInteger(key) && key >= 0 && key < t.dense.length ? t.dense[key] : -1;
    return t.sparse!.get(key) ?? -1;
  }

  has(key: number): boolean {
    return this.position(key) >= 0;
  }

  /** The .idx offset of `key`; `why` says who asked for it, in the error when the key is missing. */
  offsetOf(key: number, why?: string): number {
    const p = this.position(key);
    if (p < 0) {
      throw new RecordIoError('missing-key', `no key ${key} among its ${this.numKeys} keys${why ? ` (${why})` : ''}`, this.idxPath!);
    }
    return this.idx!.offsets[p];
  }

  /** 1-based .idx line of `key` (for messages). */
  idxLine(key: number): number {
    return this.position(key) + 1;
  }

  /**
   * The record starting at `offset`: every part's magic, cflag sequence, length and padding is checked;
   * a problem is a RecordIoError naming the .rec file and the byte offset of the part at fault.
   */
  readAt(offset: number): RawRecord {
    const file = this.recPath;
    if (offset % 4 !== 0) throw new RecordIoError('alignment', 'a record offset must be a multiple of 4', file, offset);
    const chunks: Uint8Array[] = [];
    let pos = offset;
    let total = 0;
    let parts = 0;
    for (;;) {
      if (pos + 8 > this.recSize) {
        const what = parts === 0 ? 'record header' : `part ${parts + 1} of the multi-part record at byte offset ${offset}`;
        throw new RecordIoError('truncated', `${what}: 8-byte part header runs past the end of the file (${this.recSize} bytes)`, file, pos);
      }
      const head = readExactly(this.fd, 8, pos);
      const magic = head.readUInt32LE(0);
      if (magic !== RECORDIO_MAGIC) {
        const what = parts === 0 ? '' : `part ${parts + 1} of the multi-part record at byte offset ${offset}: `;
        throw new RecordIoError('magic', what + badMagic(magic), file, pos);
      }
      const lrec = head.readUInt32LE(4);
      const cflag = lrec >>> 29;
      const length = lrec & 0x1fffffff;
      if (cflag > 3) throw new RecordIoError('cflag', `cflag ${cflag} (lrec ${hex32(lrec)}); only 0..3 exist`, file, pos);
      if (parts === 0 && cflag >= 2) {
        throw new RecordIoError('cflag', `a continuation part (cflag ${cflag}), not the start of a record`, file, pos);
      }
      if (parts > 0 && cflag < 2) {
        throw new RecordIoError(
          'cflag',
          `part ${parts + 1} of the multi-part record at byte offset ${offset} has cflag ${cflag}; expected 2 (middle) or 3 (last)`,
          file,
          pos,
        );
      }
      if ((cflag === 1 || cflag === 2) && length % 4 !== 0) {
        throw new RecordIoError(
          'alignment',
          `${cflag === 1 ? 'first' : 'middle'} part of length ${length}, not a multiple of 4 (dmlc splits records only at 4-aligned offsets)`,
          file,
          pos,
        );
      }
      const padded = align4(length);
      if (pos + 8 + padded > this.recSize) {
        throw new RecordIoError(
          'truncated',
          `part of ${length} bytes (${padded} with padding) runs past the end of the file: ends at byte ${pos + 8 + padded}, file has ${this.recSize}`,
          file,
          pos,
        );
      }
      if (parts > 0) {
        chunks.push(MAGIC_BYTES);
        total += 4;
      }
      chunks.push(readExactly(this.fd, length, pos + 8));
      total += length;
      parts++;
      pos += 8 + padded;
      if (cflag === 0 || cflag === 3) break;
    }
    const payload = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    return { offset, end: pos, payload, parts };
  }

  /**
   * Run `fn` on the .idx offset of `key`, reporting an offset that is not a record start (not 4-aligned,
   * past the end, no magic, a continuation part) as 'not-a-record' with the key and its .idx line.
   */
  private atKey<T>(key: number, why: string | undefined, fn: (offset: number) => T): T {
    const offset = this.offsetOf(key, why);
    const where = `key ${key} (${this.idxPath}:${this.idxLine(key)}): .idx offset does not point at a record`;
    if (offset % 4 !== 0 || offset >= this.recSize) {
      const problem = offset % 4 !== 0 ? 'not a multiple of 4' : `at or past the end of the file (${this.recSize} bytes)`;
      throw new RecordIoError('not-a-record', `${where}: ${problem}`, this.recPath, offset);
    }
    try {
      return fn(offset);
    } catch (e) {
      if (e instanceof RecordIoError && e.offset === offset && (e.kind === 'magic' || e.kind === 'cflag')) {
        throw new RecordIoError('not-a-record', `${where}: ${e.reason.replace(/^byte offset \d+: /, '')}`, this.recPath, offset);
      }
      throw e;
    }
  }

  /** The record of `key`, at its .idx offset; `why` says who asked, in the error when the key is missing. */
  read(key: number, why?: string): RawRecord {
    return this.atKey(key, why, (offset) => this.readAt(offset));
  }

  /** The IRHeader of `key`'s record (see readHeaderAt), with its offset. */
  readHeader(key: number, why?: string): { offset: number; header: IRHeader } {
    return this.atKey(key, why, (offset) => ({ offset, header: this.readHeaderAt(offset, key) }));
  }

  /** Every record from byte 0 to the end of the file, in file order (no .idx needed). */
  *scan(): Generator<RawRecord> {
    let pos = 0;
    while (pos < this.recSize) {
      const r = this.readAt(pos);
      yield r;
      pos = r.end;
    }
  }

  /**
   * The IRHeader of the record at `offset`, reading only its first bytes when the record is a single
   * part (or its first part holds the whole header); otherwise the whole record.
   */
  readHeaderAt(offset: number, key?: number): IRHeader {
    const probe = 8 + IRHEADER_BYTES + 16;
    if (offset % 4 === 0 && offset + probe <= this.recSize) {
      const head = readExactly(this.fd, probe, offset);
      const lrec = head.readUInt32LE(4);
      const cflag = lrec >>> 29;
      const length = lrec & 0x1fffffff;
      if (head.readUInt32LE(0) === RECORDIO_MAGIC && (cflag === 0 || cflag === 1) && offset + 8 + align4(length) <= this.recSize && length >= IRHEADER_BYTES) {
        const flag = head.readUInt32LE(8);
        const need = IRHEADER_BYTES + 4 * flag;
        if (cflag === 0 && need <= length && 8 + need <= probe) {
          return unpackRecord(head.subarray(8, 8 + need), { file: this.recPath, offset, key }).header;
        }
      }
    }
    return unpackRecord(this.readAt(offset).payload, { file: this.recPath, offset, key }).header;
  }
}

// ---------------------------------------------------------------------------------------------------
// insightface training sets

/** One identity record: image keys [start, end). */
export interface IdentityRange {
  /** The identity record's key (a..b−1). */
  key: number;
  start: number;
  end: number;
}

/** `property`: `num_classes,height,width`. */
export interface RecordIoProperty {
  numClasses: number;
  height: number;
  width: number;
}

/** Provenance for a dataset view hash. Paths are left out, so a moved copy hashes the same. */
export interface RecordIoSummary {
  format: 'mxnet-recordio/insightface';
  /** 'header': record 0 holds the identity ranges; 'flat': record 0 has flag 0, every .idx key is an image. */
  layout: 'header' | 'flat';
  numImages: number;
  /** Identity records (header layout), else null. */
  numIdentities: number | null;
  /** Size of train.rec; its content is NOT hashed (see `hashed`). */
  recBytes: number;
  idx: { bytes: number; sha256: string };
  property: { bytes: number; sha256: string; numClasses: number; height: number; width: number } | null;
  /** sha256 over (u32 LE length, payload) of record 0 and, in the header layout, each identity record, in key order. */
  headerRecords: { count: number; sha256: string };
  /** What the hashes cover, in words (recorded with the view). */
  hashed: string;
}

const HASHED =
  'sizes of train.rec, train.idx and property; sha256 of train.idx (every key and offset), of property, and of the ' +
  'payloads of record 0 and the identity records. The image records of train.rec are not hashed: list train.rec in ' +
  'a MANIFEST.sha256 and use verifyManifest for that.';

/** Result of reading every image's header (`labels()`). */
export interface LabelScan {
  /** Class label of each image, in image order (label[0] for multi-label records). */
  labels: Int32Array;
  /** max label + 1 (checked against property's num_classes when present). */
  numClasses: number;
  /** Images per class label. */
  imagesPerClass: Int32Array;
  /** Each identity record's label (header layout; −1 for an empty range), else null. */
  identityLabels: Int32Array | null;
}

/** One image of the set. */
export interface RecordIoImage {
  /** 0-based position among the images. */
  index: number;
  key: number;
  /** Byte offset of the record in train.rec. */
  offset: number;
  /** The class label (label[0] of a multi-label record). */
  label: number;
  header: IRHeader;
  /** The encoded image (JPEG in insightface sets), exactly as stored. */
  image: Uint8Array;
}

export interface OpenRecordIoOptions {
  /** Default `<dir>/train.rec`, `<dir>/train.idx`, `<dir>/property` (property optional). */
  rec?: string;
  idx?: string;
  /** A path, or null for none; default `<dir>/property` when it exists. */
  property?: string | null;
}

function parseProperty(text: string, file: string): RecordIoProperty {
  const lines = text.split('\n').map((l) => l.trim());
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== 1) throw new RecordIoError('index', `expected one line num_classes,height,width; got ${lines.length} lines`, file, undefined, 2);
  const f = lines[0].split(',').map((s) => s.trim());
  if (f.length !== 3 || !f.every((s) => /^\d+$/.test(s))) {
    throw new RecordIoError('index', `expected num_classes,height,width, got ${JSON.stringify(lines[0])}`, file, undefined, 1);
  }
  const [numClasses, height, width] = f.map(Number);
  return { numClasses, height, width };
}

const isLabelInt = (v: number) => Number.isInteger(v) && v >= 0;

/**
 * An insightface training set (train.rec + train.idx, optionally property). Opening reads the .idx,
 * record 0 and the identity records only; images are read on demand.
 */
export class InsightfaceRecordIo {
  readonly file: RecordIoFile;
  readonly header0: IRHeader;
  readonly layout: 'header' | 'flat';
  readonly numImages: number;
  /** Identity records in key order (header layout), else null. */
  readonly identities: IdentityRange[] | null;
  readonly property: RecordIoProperty | null;
  readonly propertyPath: string | null;
  private readonly headerDigest: { count: number; sha256: string };
  private readonly propertyDigest: { bytes: number; sha256: string } | null;
  /** Ranges sorted by start, for key → identity lookup. */
  private readonly byStart: IdentityRange[];
  /** Label of each identity, fixed by the first of its images read (−1: none read yet). */
  private readonly identityLabel: Int32Array;
  private readonly identityLabelKey: Float64Array;
  private scanned: LabelScan | null = null;

  constructor(dir: string | null, opts: OpenRecordIoOptions = {}) {
    const rec = opts.rec ?? join(dir ?? '.', 'train.rec');
    const idx = opts.idx ?? join(dir ?? '.', 'train.idx');
    const propDefault = dir === null ? null : join(dir, 'property');
    this.propertyPath = opts.property === undefined ? (propDefault && existsSync(propDefault) ? propDefault : null) : opts.property;
    if (this.propertyPath !== null) {
      const buf = readFileSync(this.propertyPath);
      this.property = parseProperty(buf.toString('utf8'), this.propertyPath);
      this.propertyDigest = { bytes: buf.length, sha256: sha256Hex(buf) };
    } else {
      this.property = null;
      this.propertyDigest = null;
    }
    this.file = RecordIoFile.open(rec, idx);
    try {
      const f = this.file;
      const hash = new HashParts();
      const r0 = f.read(0, 'record 0 is the header record');
      hash.add(r0.payload);
      this.header0 = unpackRecord(r0.payload, { file: rec, offset: r0.offset, key: 0 }).header;
      if (this.header0.flag === 0) {
        this.layout = 'flat';
        this.numImages = f.numKeys;
        this.identities = null;
      } else {
        this.layout = 'header';
        const h = this.header0.labels!;
        const [a, b] = [h[0], h[1]];
        if (h.length < 2 || !isLabelInt(a) || !isLabelInt(b) || a < 1 || b < a) {
          throw new RecordIoError('range', `record 0 (header): label ${JSON.stringify(Array.from(h))} is not [a, b] with integers 1 ≤ a ≤ b`, rec, r0.offset);
        }
        const at0 = `record 0 at ${rec} byte offset ${r0.offset} says images are keys 1..${a - 1} and identity records keys ${a}..${b - 1}`;
        for (let k = 1; k < b; k++) f.offsetOf(k, at0);
        this.numImages = a - 1;
        this.identities = [];
        for (let k = a; k < b; k++) {
          const r = f.read(k);
          hash.add(r.payload);
          const { header } = unpackRecord(r.payload, { file: rec, offset: r.offset, key: k });
          const l = header.labels;
          if (!l || l.length < 2 || !isLabelInt(l[0]) || !isLabelInt(l[1]) || l[0] < 1 || l[1] > a || l[0] > l[1]) {
            throw new RecordIoError(
              'range',
              `identity record key ${k}: label ${l ? JSON.stringify(Array.from(l)) : header.label} is not an image-key range [start, end) within 1..${a}`,
              rec,
              r.offset,
            );
          }
          this.identities.push({ key: k, start: l[0], end: l[1] });
        }
      }
      this.byStart = [...(this.identities ?? [])].sort((x, y) => x.start - y.start);
      for (let j = 1; j < this.byStart.length; j++) {
        const [p, q] = [this.byStart[j - 1], this.byStart[j]];
        if (q.start < p.end) {
          throw new RecordIoError(
            'range',
            `identity record key ${q.key}: range [${q.start}, ${q.end}) overlaps identity record key ${p.key}'s [${p.start}, ${p.end})`,
            rec,
            f.offsetOf(q.key),
          );
        }
      }
      this.identityLabel = new Int32Array(this.byStart.length).fill(-1);
      this.identityLabelKey = new Float64Array(this.byStart.length);
      this.headerDigest = hash.digest();
    } catch (e) {
      this.file.close();
      throw e;
    }
  }

  close(): void {
    this.file.close();
  }

  /** Identity records (0 in the flat layout). */
  get numIdentities(): number | null {
    return this.identities ? this.identities.length : null;
  }

  /** Key of the i-th image: i + 1 in the header layout, the i-th .idx key in the flat layout. */
  imageKey(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.numImages)) throw new RangeError(`image index ${i} outside 0..${this.numImages - 1}`);
    return this.layout === 'header' ? i + 1 : this.file.keyAt(i);
  }

  /** Position in byStart of the identity whose range holds `key`, or −1. */
  private identityOf(key: number): number {
    let lo = 0;
    let hi = this.byStart.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.byStart[mid];
      if (key < r.start) hi = mid - 1;
      else if (key >= r.end) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Check an image's label: a non-negative integer, equal to the other images of its identity, below num_classes. */
  private checkLabel(key: number, offset: number, header: IRHeader): number {
    const rec = this.file.recPath;
    const label = classLabel(header);
    if (!isLabelInt(label)) {
      const shown = header.labels ? `label[0] ${label} (of ${JSON.stringify(Array.from(header.labels))})` : `label ${label}`;
      throw new RecordIoError('label', `image key ${key}: ${shown} is not a non-negative integer class`, rec, offset);
    }
    if (this.property && label >= this.property.numClasses) {
      throw new RecordIoError('label', `image key ${key}: label ${label} ≥ num_classes ${this.property.numClasses} of ${this.propertyPath}`, rec, offset);
    }
    const j = this.identityOf(key);
    if (j >= 0) {
      const id = this.byStart[j];
      if (this.identityLabel[j] < 0) {
        this.identityLabel[j] = label;
        this.identityLabelKey[j] = key;
      } else if (this.identityLabel[j] !== label) {
        throw new RecordIoError(
          'label',
          `image key ${key}: label ${label} disagrees with its identity (record key ${id.key}, range [${id.start}, ${id.end}), ` +
            `label ${this.identityLabel[j]} from image key ${this.identityLabelKey[j]})`,
          rec,
          offset,
        );
      }
    }
    return label;
  }

  /** The image with record key `key`, label checked. */
  readKey(key: number, index = -1): RecordIoImage {
    const r = this.file.read(key);
    const { header, image } = unpackRecord(r.payload, { file: this.file.recPath, offset: r.offset, key });
    const label = this.checkLabel(key, r.offset, header);
    return { index, key, offset: r.offset, label, header, image };
  }

  /** The i-th image (0-based). */
  image(i: number): RecordIoImage {
    return this.readKey(this.imageKey(i), i);
  }

  /** Every image in order (keys 1..a−1, or .idx order in the flat layout), read through the index. */
  *images(): Generator<RecordIoImage> {
    for (let i = 0; i < this.numImages; i++) yield this.image(i);
  }

  /** Image keys [start, end) of each identity (header layout), else null. */
  identityRanges(): IdentityRange[] | null {
    return this.identities ? this.identities.map((r) => ({ ...r })) : null;
  }

  /**
   * Every image's class label, reading only record headers (one small read per image; cached). Checks
   * each label (integer, agrees with its identity range, below property's num_classes) and that no two
   * identity records share a label.
   */
  labels(): LabelScan {
    if (this.scanned) return this.scanned;
    const labels = new Int32Array(this.numImages);
    let max = -1;
    for (let i = 0; i < this.numImages; i++) {
      const key = this.imageKey(i);
      const { offset, header } = this.file.readHeader(key);
      labels[i] = this.checkLabel(key, offset, header);
      if (labels[i] > max) max = labels[i];
    }
    const imagesPerClass = new Int32Array(max + 1);
    for (const l of labels) imagesPerClass[l]++;
    let identityLabels: Int32Array | null = null;
    if (this.identities) {
      const owner = new Map<number, IdentityRange>();
      for (let j = 0; j < this.byStart.length; j++) {
        const l = this.identityLabel[j];
        if (l < 0) continue;
        const other = owner.get(l);
        if (other) {
          const id = this.byStart[j];
          throw new RecordIoError(
            'label',
            `identity record key ${id.key} (range [${id.start}, ${id.end})) has label ${l}, as identity record key ${other.key} (range [${other.start}, ${other.end})) does`,
            this.file.recPath,
            this.file.offsetOf(id.key),
          );
        }
        owner.set(l, this.byStart[j]);
      }
      const pos = new Map(this.byStart.map((r, j) => [r.key, j]));
      identityLabels = Int32Array.from(this.identities, (r) => this.identityLabel[pos.get(r.key)!]);
    }
    this.scanned = { labels, numClasses: max + 1, imagesPerClass, identityLabels };
    return this.scanned;
  }

  /** Provenance for a dataset view hash (see `RecordIoSummary.hashed`); reads nothing new. */
  summary(): RecordIoSummary {
    return {
      format: 'mxnet-recordio/insightface',
      layout: this.layout,
      numImages: this.numImages,
      numIdentities: this.numIdentities,
      recBytes: this.file.recSize,
      idx: this.file.idxDigest,
      property: this.property && this.propertyDigest ? { ...this.propertyDigest, ...this.property } : null,
      headerRecords: this.headerDigest,
      hashed: HASHED,
    };
  }
}

/** sha256 over (u32 LE length, bytes) of each part added. */
class HashParts {
  private readonly chunks: Uint8Array[] = [];
  add(bytes: Uint8Array): void {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, true);
    this.chunks.push(len, bytes);
  }
  digest(): { count: number; sha256: string } {
    return { count: this.chunks.length / 2, sha256: sha256Hex(Buffer.concat(this.chunks)) };
  }
}

/** Open `<dir>/train.rec`, `<dir>/train.idx` and `<dir>/property` (when present); see OpenRecordIoOptions. */
export function openInsightfaceRecordIo(dir: string, opts: OpenRecordIoOptions = {}): InsightfaceRecordIo {
  return new InsightfaceRecordIo(dir, opts);
}

// ---------------------------------------------------------------------------------------------------
// Writers

/**
 * `mx.recordio.MXIndexedRecordIO(idx, rec, 'w')`: `write` appends one record as dmlc frames it and
 * returns its offset; `writeIdx` also appends `<key>\t<offset>\n` to the .idx (keys in any order).
 * Files are truncated on open, as mode 'w' does.
 */
export class RecordIoWriter {
  private fd: number;
  private idxFd: number;
  private pos = 0;
  private idxLines: string[] = [];
  private idxPending = 0;

  constructor(
    readonly recPath: string,
    readonly idxPath: string | null = null,
  ) {
    this.fd = openSync(recPath, 'w');
    this.idxFd = idxPath === null ? -1 : openSync(idxPath, 'w');
  }

  /** Bytes written so far: the offset of the next record (MXRecordIO.tell). */
  tell(): number {
    return this.pos;
  }

  /** Append one payload (MXRecordIO.write); returns its offset. */
  write(payload: Uint8Array): number {
    const at = this.pos;
    const bytes = frameRecord(payload);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.pos += bytes.length;
    return at;
  }

  /** MXIndexedRecordIO.write_idx: the offset, then the record, then the .idx line. */
  writeIdx(key: number, payload: Uint8Array): number {
    if (this.idxFd < 0) throw new Error(`${this.recPath}: RecordIoWriter opened without an .idx path`);
    if (!(Number.isSafeInteger(key) && key >= 0)) throw new RangeError(`RecordIO keys are non-negative integers, got ${key}`);
    const at = this.write(payload);
    this.idxLines.push(`${key}\t${at}\n`);
    if (++this.idxPending >= 4096) this.flushIdx();
    return at;
  }

  private flushIdx(): void {
    if (this.idxLines.length === 0) return;
    const buf = Buffer.from(this.idxLines.join(''), 'latin1');
    let done = 0;
    while (done < buf.length) done += writeSync(this.idxFd, buf, done, buf.length - done);
    this.idxLines = [];
    this.idxPending = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    this.flushIdx();
    closeSync(this.fd);
    if (this.idxFd >= 0) closeSync(this.idxFd);
    this.fd = this.idxFd = -1;
  }
}

/** An image to pack: encoded bytes (label = the identity's), or bytes with their own label (a vector → flag > 0). */
export type PackImage = Uint8Array | { image: Uint8Array; label: number | ArrayLike<number> };

/**
 * insightface's `RecBuilder` (recognition/common/rec_builder.py) for already encoded images: `add` writes
 * one identity's images as keys widx.., `close` writes the identity records, then record 0
 * (IRHeader(0, [a, b], 0, 1)) and `property` (`max label + 1,height,width`).
 */
export class InsightfaceRecBuilder {
  private readonly writer: RecordIoWriter;
  private widx = 1;
  private lastLabel = -1;
  private maxLabel = -1;
  private readonly ranges: [number, number][] = [];

  constructor(
    readonly dir: string,
    readonly imageSize: [number, number] = [112, 112],
  ) {
    this.writer = new RecordIoWriter(join(dir, 'train.rec'), join(dir, 'train.idx'));
  }

  /** One identity: `label` must exceed the previous identity's (as RecBuilder asserts). */
  add(label: number, images: PackImage[]): void {
    if (!(Number.isInteger(label) && label >= 0 && label > this.lastLabel)) {
      throw new RangeError(`labels must be non-negative integers in increasing order: ${label} after ${this.lastLabel}`);
    }
    if (images.length === 0) throw new RangeError(`identity ${label} has no images`);
    const start = this.widx;
    for (const img of images) {
      const idx = this.widx++;
      const [bytes, l] = img instanceof Uint8Array ? [img, label] : [img.image, img.label];
      this.writer.writeIdx(idx, packRecord({ label: l, id: idx, id2: 0 }, bytes));
    }
    this.ranges.push([start, this.widx]);
    this.lastLabel = label;
    this.maxLabel = Math.max(this.maxLabel, label);
  }

  close(): void {
    const idIdx = this.widx;
    for (const range of this.ranges) {
      const idx = this.widx++;
      this.writer.writeIdx(idx, packRecord({ label: range, id: idx, id2: 0 }));
    }
    this.writer.writeIdx(0, packRecord({ label: [idIdx, this.widx], id: 0, id2: 1 }));
    this.writer.close();
    writeFileSync(join(this.dir, 'property'), `${this.maxLabel + 1},${this.imageSize[0]},${this.imageSize[1]}\n`);
  }
}
