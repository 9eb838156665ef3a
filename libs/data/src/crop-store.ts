import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { contentHash, removeStaleTemporaryFiles, sha256Hex, writeFileAtomic } from '@sphereface/common';
import { type AlignmentTemplate, type AlignOptions, isDefaultTemplate, type Point, type ResolvedAlign, resolveAlign, SPHEREFACE_TEMPLATE_MATLAB } from './align';
import { imageSha256 } from './datasets';
import { decoderId } from './decode';
import { DataError, type OnBad, type Skipped } from './errors';
import { cacheDir } from './paths';
import { closeTaskSources, type CropTask, decodedBytesError } from './process';
import { CropPool } from './worker-pool';

/**
 * Part of every store key: bump when the crop computation changes, to orphan old stores. SFCROPS2 (the
 * name the single-file cache had) is kept, so that the keys of crops made as before stay what they were.
 */
const KEY_FORMAT = 'SFCROPS2';
/** Magic at the start of each shard file; bump when the shard layout changes. */
const SHARD_MAGIC = 'SFSHARD1';
const INDEX_FILE = 'store.json';
const INDEX_FORMAT = 'sphereface-crop-store/1';
/** Images per shard: small enough that a killed build loses little, large enough that files stay few. */
export const DEFAULT_SHARD_SIZE = 1024;
/** Stores up to this size have every shard's checksum verified when opened; larger ones have their sizes checked. */
const FULL_VERIFY_BYTES = 2 ** 31;

/** One image of a crop store: where its bytes are, its expected sha256 and its landmarks (null: centre-crop). */
export interface CropItem {
  rel: string;
  sha256?: string;
  landmarks: readonly Point[] | null;
  /** Landmark file and line of the points, for error messages; not part of the key. */
  landmarksAt?: { file: string; line: number };
}

/**
 * Store key: the content hash of every image (sha256) with its landmarks, in order, plus the template, crop
 * size, reflection setting and decoder id. Paths are not part of it: the same bytes and points give the same
 * crops wherever they live. The image hashes are the manifest's (else the file is hashed); a shard is written
 * only when the bytes it decoded have exactly these hashes, so a key always names the bytes its crops were made
 * from. The default template enters as SPHEREFACE_TEMPLATE_MATLAB, as it did before templates were named.
 */
export function cropStoreKey(hashes: readonly string[], items: readonly CropItem[], align: ResolvedAlign): string {
  const { template, decoder, ...size } = align; // size: height, width, allowReflection
  return contentHash({
    format: KEY_FORMAT,
    images: items.map((it, i) => [hashes[i], it.landmarks]),
    template: isDefaultTemplate(template) ? SPHEREFACE_TEMPLATE_MATLAB : template,
    align: size,
    decoder: decoderId(decoder),
  });
}

/** What a shard file holds besides its crops. */
interface ShardHeader {
  key: string;
  shard: number;
  /** Items first … end−1 of the store's item list. */
  first: number;
  end: number;
  height: number;
  width: number;
  /** Item index of each stored crop, in order. */
  kept: number[];
  skipped: Skipped[];
}

interface StoreIndex {
  format: string;
  key: string;
  height: number;
  width: number;
  template: AlignmentTemplate;
  shardSize: number;
  items: number;
  shards: string[];
}

const shardName = (s: number) => `shard-${String(s).padStart(6, '0')}.bin`;

/** Shard layout: SHARD_MAGIC (8 bytes) | header length (uint32 LE) | header JSON | crops | sha256 of header JSON + crops. */
function encodeShard(header: ShardHeader, crops: Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const body = Buffer.concat([head, crops]);
  return Buffer.concat([Buffer.from(SHARD_MAGIC, 'latin1'), len, body, Buffer.from(sha256Hex(body), 'hex')]);
}

/** A shard's header and where its crops start, read from the first bytes only; or why the file cannot be used. */
function readShardHeader(path: string): { header: ShardHeader; dataOffset: number; bytes: number } | string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'missing';
  }
  try {
    const bytes = fstatSync(fd).size;
    const prefix = Buffer.alloc(12);
    if (bytes < 12 + 32 || readSync(fd, prefix, 0, 12, 0) !== 12 || prefix.toString('latin1', 0, 8) !== SHARD_MAGIC) return 'bad magic or too short';
    const hlen = prefix.readUInt32LE(8);
    if (12 + hlen + 32 > bytes) return 'header length beyond end of file';
    const head = Buffer.alloc(hlen);
    readSync(fd, head, 0, hlen, 12);
    let header: ShardHeader;
    try {
      header = JSON.parse(head.toString('utf8')) as ShardHeader;
    } catch {
      return 'unreadable header';
    }
    return { header, dataOffset: 12 + hlen, bytes };
  } finally {
    closeSync(fd);
  }
}

/** Whether a shard file is the one expected at this place of this store; with `full`, its checksum too. */
function checkShard(path: string, expect: Omit<ShardHeader, 'kept' | 'skipped'>, full: boolean): { header: ShardHeader; dataOffset: number } | string {
  const read = readShardHeader(path);
  if (typeof read === 'string') return read;
  const { header, dataOffset, bytes } = read;
  for (const k of ['key', 'shard', 'first', 'end', 'height', 'width'] as const) {
    if (header[k] !== expect[k]) return `${k} ${String(header[k])} where ${String(expect[k])} was expected`;
  }
  if (bytes !== dataOffset + header.kept.length * header.height * header.width * 3 + 32) return 'size does not match its header';
  if (full) {
    const buf = readFileSync(path);
    if (sha256Hex(buf.subarray(12, buf.length - 32)) !== buf.subarray(buf.length - 32).toString('hex')) return 'checksum mismatch';
  }
  return { header, dataOffset };
}

/** Crops that can be read one by one: a CropStore on disk, or crops in memory (memoryCrops). */
export interface CropSource {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** Crop i (height × width × 3 bytes, RGB) into `out` (allocated when absent). */
  read(i: number, out?: Uint8Array): Uint8Array;
}

/** Crops held in one byte array (count × height × width × 3), e.g. for tests. */
export function memoryCrops(data: Uint8Array, height: number, width: number): CropSource {
  const size = height * width * 3;
  if (data.length % size !== 0) throw new Error(`memoryCrops: ${data.length} bytes are not whole ${height}×${width}×3 crops`);
  const count = data.length / size;
  return {
    count,
    height,
    width,
    read(i, out = new Uint8Array(size)) {
      if (!(Number.isInteger(i) && i >= 0 && i < count)) throw new RangeError(`memoryCrops: crop ${i} is outside [0, ${count})`);
      out.set(data.subarray(i * size, (i + 1) * size));
      return out;
    },
  };
}

export type CropStoreStatus = 'hit' | 'miss' | 'resumed' | 'rebuilt';

interface OpenShard {
  path: string;
  dataOffset: number;
  /** Index of its first crop in the store. */
  start: number;
  count: number;
  fd: number | null;
}

/**
 * Aligned uint8 crops on disk in shards, read crop by crop (positioned reads), so that memory does not grow with
 * the dataset. `kept[i]` is the item index of crop i; items left out as bad input are in `skipped`.
 */
export class CropStore implements CropSource {
  readonly count: number;
  readonly kept: Int32Array;
  readonly skipped: Skipped[];
  private readonly shards: OpenShard[];
  private readonly size: number;

  private constructor(
    readonly dir: string,
    readonly key: string,
    readonly height: number,
    readonly width: number,
    readonly template: AlignmentTemplate,
    headers: Array<{ header: ShardHeader; dataOffset: number }>,
    /** 'hit': read from disk; 'miss': built; 'resumed': shards of an interrupted build were reused; 'rebuilt': damaged shards were rebuilt. */
    readonly status: CropStoreStatus,
    /** The damaged shards that were rebuilt, with the reason. */
    readonly problems: string[],
  ) {
    this.size = height * width * 3;
    let start = 0;
    this.shards = headers.map(({ header, dataOffset }, s) => {
      const shard = { path: join(dir, shardName(s)), dataOffset, start, count: header.kept.length, fd: null };
      start += header.kept.length;
      return shard;
    });
    this.count = start;
    this.kept = Int32Array.from(headers.flatMap((h) => h.header.kept));
    this.skipped = headers.flatMap((h) => h.header.skipped);
  }

  /** Opens a complete store folder (one buildCropStore wrote) without verifying checksums, e.g. in a worker. */
  static open(dir: string): CropStore {
    const index = readIndex(dir);
    if (typeof index === 'string') throw new Error(`crop store ${dir}: ${index}`);
    const headers = index.shards.map((file, s) => {
      const read = readShardHeader(join(dir, file));
      if (typeof read === 'string') throw new Error(`crop store ${dir}: ${file}: ${read}`);
      if (read.header.shard !== s || read.header.key !== index.key) throw new Error(`crop store ${dir}: ${file} belongs to another store`);
      return read;
    });
    return new CropStore(dir, index.key, index.height, index.width, index.template, headers, 'hit', []);
  }

  /** @internal buildCropStore's constructor. */
  static fromShards(dir: string, index: StoreIndex, headers: Array<{ header: ShardHeader; dataOffset: number }>, status: CropStoreStatus, problems: string[]): CropStore {
    return new CropStore(dir, index.key, index.height, index.width, index.template, headers, status, problems);
  }

  private locate(i: number): OpenShard {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new RangeError(`crop store ${this.dir}: crop ${i} is outside [0, ${this.count})`);
    let lo = 0, hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shards[mid].start <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.shards[lo];
  }

  read(i: number, out = new Uint8Array(this.size)): Uint8Array {
    const shard = this.locate(i);
    shard.fd ??= openSync(shard.path, 'r');
    const got = readSync(shard.fd, out, 0, this.size, shard.dataOffset + (i - shard.start) * this.size);
    if (got !== this.size) throw new Error(`crop store ${shard.path}: crop ${i} is truncated (${got} of ${this.size} bytes)`);
    return out;
  }

  /** Crops start … start+count−1 as one array. */
  readRange(start: number, count: number): Uint8Array {
    const out = new Uint8Array(count * this.size);
    for (let k = 0; k < count; k++) this.read(start + k, out.subarray(k * this.size, (k + 1) * this.size));
    return out;
  }

  /** Closes the shard files (they are reopened if read again). */
  close(): void {
    for (const s of this.shards) {
      if (s.fd !== null) closeSync(s.fd);
      s.fd = null;
    }
  }
}

function readIndex(dir: string, key?: string): StoreIndex | string {
  const path = join(dir, INDEX_FILE);
  if (!existsSync(path)) return 'no store.json (the build did not finish)';
  let index: StoreIndex;
  try {
    index = JSON.parse(readFileSync(path, 'utf8')) as StoreIndex;
  } catch {
    return 'store.json is not JSON';
  }
  if (index.format !== INDEX_FORMAT) return `store.json has format ${String(index.format)}, not ${INDEX_FORMAT}`;
  if (key !== undefined && index.key !== key) return `store.json has key ${index.key}, not ${key}`;
  return index;
}

export interface BuildCropStoreOptions {
  /** Template (default SphereFace's), crop size (default the template's), reflection (default allowed), decoder. */
  align?: Partial<AlignOptions>;
  /** Folder holding stores (one subfolder per key); default <repo>/.cache/sphereface-data/crop-store. */
  dir?: string;
  /** Worker threads decoding and aligning (0: this thread); default 2. */
  workers?: number;
  /** Images per shard; default DEFAULT_SHARD_SIZE. Part of the layout, not of the key. */
  shardSize?: number;
  onBad?: OnBad;
  /** Verify every shard's checksum even when the store is large (default: only up to 2 GiB). */
  verify?: 'full' | 'auto';
  /**
   * The images are entries of a zip archive, read in place: `imageDir` is the .zip and an item's entry is
   * `prefix + rel` (loadTrainingSet's source.prefix). Items must carry their sha256 (loadTrainingSet's do).
   */
  zip?: { prefix: string };
  /** The images are records of an insightface RecordIO file, read in place; an item's `rel` is its record key. */
  recordio?: { rec: string; idx: string };
  /** Called after each shard is built or found intact. */
  onProgress?: (p: { shard: number; shards: number; built: number; reused: number; images: number }) => void;
}

/**
 * The crop store of `items`: aligned uint8 crops in shards under a folder named by the content key. Shards that are
 * already there and intact are reused, so a killed build resumes shard by shard; damaged shards are rebuilt.
 * Each shard is decoded and aligned on worker threads, each worker hashing the bytes it decodes: an image whose
 * bytes differ from the hash in the key is a DataError naming it, even under onBad 'skip', and that shard is not
 * written, so a corrupted copy never leaves crops under the pristine image's key.
 */
export async function buildCropStore(imageDir: string, items: readonly CropItem[], opts: BuildCropStoreOptions = {}): Promise<CropStore> {
  const align = resolveAlign(opts.align);
  const expected = items.map((it) => imageSha256(imageDir, it));
  const key = cropStoreKey(expected, items, align);
  const dir = join(opts.dir ?? cacheDir('crop-store'), key);
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!(Number.isInteger(shardSize) && shardSize > 0)) throw new Error(`buildCropStore: shardSize must be a positive integer, got ${shardSize}`);
  mkdirSync(dir, { recursive: true });
  removeStaleTemporaryFiles(dir);
  const { height, width } = align;
  const size = height * width * 3;
  const shards = Math.ceil(items.length / shardSize);
  const indexBefore = readIndex(dir, key);
  // A complete store of another shard size: its shards are another layout, replaced, not damage to report.
  const relayout = typeof indexBefore !== 'string' && indexBefore.shardSize !== shardSize;
  const fullVerify = opts.verify === 'full' || shards * shardSize * size <= FULL_VERIFY_BYTES;
  const headers: Array<{ header: ShardHeader; dataOffset: number }> = [];
  const problems: string[] = [];
  let built = 0, reused = 0;
  let pool: CropPool | undefined;
  try {
    for (let s = 0; s < shards; s++) {
      const first = s * shardSize, end = Math.min(items.length, first + shardSize);
      const path = join(dir, shardName(s));
      const place = { key, shard: s, first, end, height, width };
      const found = checkShard(path, place, fullVerify);
      if (typeof found !== 'string') {
        headers.push(found);
        reused++;
      } else {
        if (found !== 'missing' && !relayout) problems.push(`${shardName(s)}: ${found}`);
        pool ??= new CropPool(opts.workers ?? 2);
        const slice = items.slice(first, end);
        const tasks = slice.map((it) => cropTask(imageDir, it, opts));
        const results = await pool.run(tasks, align);
        results.forEach((r, i) => {
          const bad = decodedBytesError(tasks[i].path, expected[first + i], r);
          if (bad) throw bad;
        });
        const kept: number[] = [];
        const skipped: Skipped[] = [];
        const crops = new Uint8Array(results.filter((r) => r.ok).length * size);
        results.forEach((r, i) => {
          if (r.ok) {
            crops.set(r.data, kept.length * size);
            kept.push(first + i);
          } else if (opts.onBad === 'skip') skipped.push(r.skipped);
          else throw new DataError(r.skipped.reason, r.skipped.file, r.skipped.line);
        });
        const header: ShardHeader = { ...place, kept, skipped };
        const bytes = encodeShard(header, crops);
        writeFileAtomic(path, bytes);
        headers.push({ header, dataOffset: bytes.length - 32 - crops.length });
        built++;
      }
      opts.onProgress?.({ shard: s + 1, shards, built, reused, images: end });
    }
  } finally {
    await pool?.close();
    if (pool && pool.size === 0) closeTaskSources(); // this thread read the images: its archives stay open otherwise
  }
  const index: StoreIndex = { format: INDEX_FORMAT, key, height, width, template: align.template, shardSize, items: items.length, shards: headers.map((_, s) => shardName(s)) };
  const indexProblem = typeof indexBefore === 'string' && existsSync(join(dir, INDEX_FILE)) ? indexBefore : null;
  if (indexProblem) problems.push(`${INDEX_FILE}: ${indexProblem}`);
  if (built > 0 || typeof indexBefore === 'string' || indexBefore.shardSize !== shardSize) {
    // Shards of another shard size (a store built with other options) are not part of this layout.
    for (let s = shards; existsSync(join(dir, shardName(s))); s++) rmSync(join(dir, shardName(s)));
    writeFileAtomic(join(dir, INDEX_FILE), `${JSON.stringify(index)}\n`);
  }
  const status: CropStoreStatus = problems.length > 0 ? 'rebuilt' : built === 0 ? 'hit' : reused > 0 ? 'resumed' : 'miss';
  return CropStore.fromShards(dir, index, headers, status, problems);
}

/**
 * A worker's task for one item: a file, an entry of the zip archive `imageDir` (named `<zip>!/<entry>` in messages)
 * or a record of a RecordIO file (named `<rec>#<key>`).
 */
function cropTask(imageDir: string, it: CropItem, opts: Pick<BuildCropStoreOptions, 'zip' | 'recordio'>): CropTask {
  const common = { landmarks: it.landmarks as Point[] | null, ...(it.landmarksAt ? { landmarksAt: it.landmarksAt } : {}) };
  if (opts.zip) {
    const entry = `${opts.zip.prefix}${it.rel}`;
    return { ...common, path: `${imageDir}!/${entry}`, zip: { archive: imageDir, entry } };
  }
  if (opts.recordio) {
    const key = Number(it.rel);
    if (!Number.isInteger(key) || key < 0) throw new Error(`buildCropStore: RecordIO item '${it.rel}' is not a record key`);
    return { ...common, path: `${opts.recordio.rec}#${key}`, record: { ...opts.recordio, key } };
  }
  return { ...common, path: join(imageDir, it.rel) };
}
