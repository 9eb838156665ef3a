import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type AlignmentTemplate, type AlignOptions, isDefaultTemplate, type Point, type ResolvedAlign, resolveAlign, SPHEREFACE_TEMPLATE_MATLAB } from './align';
import { imageSha256 } from './datasets';
import { decoderId } from './decode';
import { DataError, type OnBad, type Skipped } from './errors';
import { writeFileAtomic } from '@sphereface/common';
import { contentHash, sha256Hex } from '@sphereface/common';
import { cacheDir } from './paths';
import { decodedBytesError } from './process';
import { CropPool } from './worker-pool';

/**
 * Bump when the file layout or the crop computation changes, to orphan old cache files. 2: files are only
 * written after checking that every image's decoded bytes have the hash in the key (SFCROPS1 files could
 * hold crops of a corrupted copy under the pristine image's key).
 */
const FORMAT = 'SFCROPS2';

export interface CropItem {
  rel: string;
  sha256?: string;
  landmarks: readonly Point[] | null;
  /** Landmark file and line of the points, for error messages; not part of the key. */
  landmarksAt?: { file: string; line: number };
}

/** Aligned crops of a list of images, in item order (minus skipped items). */
export interface CropSet {
  key: string;
  height: number;
  width: number;
  /** The template the crops were aligned to (part of the key). */
  template: AlignmentTemplate;
  /** kept.length × height × width × 3 bytes, RGB. */
  data: Uint8Array;
  /** Index in the input items of each stored crop. */
  kept: Int32Array;
  /** Items left out under onBad 'skip' (recorded in the cache, so a hit reports them too). */
  skipped: Skipped[];
  /** 'hit': read from disk; 'miss': built; 'rebuilt': the cache file was corrupt and was rebuilt. */
  status: 'hit' | 'miss' | 'rebuilt';
  /** Why the previous file was rejected, when status is 'rebuilt'. */
  corruption?: string;
  file: string;
}

/**
 * Cache key: the content hash of every image (sha256) with its landmarks, in order, plus the
 * template, crop size, reflection setting, decoder id and file format. Paths are not part of
 * it: the same bytes and points give the same crops wherever they live. The image hashes are the
 * manifest's (else the file is hashed); loadCrops writes a file only when the bytes it decoded have
 * exactly these hashes, so a key always names the bytes its crops were made from. The default
 * template enters as SPHEREFACE_TEMPLATE_MATLAB, as it did before templates were named (so existing
 * cache files stay valid); any other as its { name, points, width, height }.
 */
export function cropCacheKey(imageDir: string, items: readonly CropItem[], align: Partial<AlignOptions> = {}): string {
  return keyOf(items.map((it) => imageSha256(imageDir, it)), items, resolveAlign(align));
}

function keyOf(hashes: readonly string[], items: readonly CropItem[], align: ResolvedAlign): string {
  const { template, decoder, ...size } = align; // size: height, width, allowReflection
  return contentHash({
    format: FORMAT,
    images: items.map((it, i) => [hashes[i], it.landmarks]),
    template: isDefaultTemplate(template) ? SPHEREFACE_TEMPLATE_MATLAB : template,
    align: size,
    decoder: decoderId(decoder),
  });
}

interface Header {
  key: string;
  height: number;
  width: number;
  kept: number[];
  skipped: Skipped[];
}

/** Layout: FORMAT (8 bytes) | header length (uint32 LE) | header JSON | crops | sha256 of header JSON + crops. */
function encode(h: Header, data: Uint8Array): Uint8Array {
  const head = Buffer.from(JSON.stringify(h));
  const body = Buffer.concat([head, data]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  return Buffer.concat([Buffer.from(FORMAT), len, body, Buffer.from(sha256Hex(body), 'hex')]);
}

/** The stored crops, or the reason the file cannot be trusted. */
function decode(buf: Buffer, key: string): { header: Header; data: Uint8Array } | string {
  if (buf.length < 12 + 32 || buf.toString('latin1', 0, 8) !== FORMAT) return 'bad magic or too short';
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen + 32 > buf.length) return 'header length beyond end of file';
  const body = buf.subarray(12, buf.length - 32);
  if (sha256Hex(body) !== buf.subarray(buf.length - 32).toString('hex')) return 'checksum mismatch';
  const header = JSON.parse(body.toString('utf8', 0, hlen)) as Header;
  if (header.key !== key) return 'key mismatch';
  const data = body.subarray(hlen);
  if (data.length !== header.kept.length * header.height * header.width * 3) return 'payload size mismatch';
  return { header, data };
}

export interface LoadCropsOptions {
  /** Template (default SphereFace's), crop size (default the template's), reflection (default allowed). */
  align?: Partial<AlignOptions>;
  /** Folder for cache files; default <repo>/.cache/sphereface-data/crops. */
  dir?: string;
  /** Worker threads for building (0: this thread); default 2. */
  workers?: number;
  onBad?: OnBad;
}

/**
 * Aligned crops for `items`, from the on-disk cache when a valid file for their key exists,
 * else decoded and aligned (on worker threads) and written atomically. A corrupt file
 * (checksum, size or key mismatch) is reported in the result and rebuilt. When building, each
 * worker hashes the bytes it decodes: an image whose bytes differ from the hash in the key (the
 * manifest's, or the one hashed for the key) is a DataError naming it, even under onBad 'skip', and
 * nothing is written, so a corrupted copy never leaves crops under the pristine image's key.
 */
export async function loadCrops(imageDir: string, items: readonly CropItem[], opts: LoadCropsOptions = {}): Promise<CropSet> {
  const align = resolveAlign(opts.align);
  const expected = items.map((it) => imageSha256(imageDir, it));
  const key = keyOf(expected, items, align);
  const file = join(opts.dir ?? cacheDir('crops'), `${key}.bin`);
  let corruption: string | undefined;
  if (existsSync(file)) {
    const got = decode(readFileSync(file), key);
    if (typeof got !== 'string') {
      const { header, data } = got;
      return { key, height: header.height, width: header.width, template: align.template, data, kept: Int32Array.from(header.kept), skipped: header.skipped, status: 'hit', file };
    }
    corruption = got;
    rmSync(file, { force: true });
  }
  const pool = new CropPool(opts.workers ?? 2);
  let results;
  try {
    results = await pool.run(items.map((it) => ({ path: join(imageDir, it.rel), landmarks: it.landmarks as Point[] | null, landmarksAt: it.landmarksAt })), align);
  } finally {
    await pool.close();
  }
  results.forEach((r, i) => {
    const bad = decodedBytesError(join(imageDir, items[i].rel), expected[i], r);
    if (bad) throw bad;
  });
  // Every result now carries its image's expected hash, so this is the key of what was decoded.
  const decodedKey = keyOf(results.map((r) => r.sha256!), items, align);
  if (decodedKey !== key) throw new Error(`loadCrops: the key of the decoded bytes ${decodedKey} differs from ${key}`);
  const kept: number[] = [];
  const skipped: Skipped[] = [];
  const size = align.height * align.width * 3;
  const data = new Uint8Array(results.filter((r) => r.ok).length * size);
  results.forEach((r, i) => {
    if (r.ok) {
      data.set(r.data, kept.length * size);
      kept.push(i);
    } else if (opts.onBad === 'skip') skipped.push(r.skipped);
    else throw new DataError(r.skipped.reason, r.skipped.file, r.skipped.line);
  });
  writeFileAtomic(file, encode({ key, height: align.height, width: align.width, kept, skipped }, data));
  return { key, height: align.height, width: align.width, template: align.template, data, kept: Int32Array.from(kept), skipped, status: corruption ? 'rebuilt' : 'miss', corruption, file };
}
