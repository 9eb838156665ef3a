import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Point } from '../align';
import type { FaceItem, IdentityDataset } from '../datasets';
import { DataError, type OnBad, SkipLog, type Skipped } from '../errors';
import { degenerateLandmarks, type LandmarkEntry, parseLandmarks } from '../landmarks';
import { sha256Hex } from '@sphereface/common';
import { MANIFEST_NAME, assertManifestOk, manifestCacheFile, readManifestEntries, verifyManifest } from '../manifest';
import { hashTreeFiles, hashZipEntries } from './hash-cache';
import { imageSize } from './image-size';
import { ZipReader } from './zip';

export type LandmarkFormat = 'sphereface' | 'project';

export interface SphereFaceLandmarkEntry extends LandmarkEntry {
  /** The class id the file gives (column 2). */
  label: number;
}

export interface SphereFaceLandmarkTable {
  file: string;
  /** Keyed by the path as written in the file. */
  entries: Map<string, SphereFaceLandmarkEntry>;
  skipped: Skipped[];
}

const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

/**
 * Parse the SphereFace / PyTorch-port landmark file (`data/casia_landmark.txt`): per line
 * `relpath<TAB>label<TAB>x1<TAB>y1 … x5<TAB>y5` (left eye, right eye, nose, left and right mouth corner),
 * integer or float coordinates, returned 0-based (`origin` subtracted). A line with another field count, a
 * label that is not a non-negative integer, a coordinate that is not a number, a duplicate path or degenerate
 * points is a DataError naming file and line (or a skip under onBad 'skip').
 */
export function parseSphereFaceLandmarks(text: string, file: string, origin: number, onBad: OnBad = 'throw'): SphereFaceLandmarkTable {
  const log = new SkipLog(onBad);
  const entries = new Map<string, SphereFaceLandmarkEntry>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/\r$/, '');
    if (t === '' && i === lines.length - 1) return;
    try {
      const f = t.split('\t');
      if (f.length !== 12) throw new DataError(`expected path, label and 10 numbers separated by tabs, got ${f.length} fields`, file, line);
      if (!/^\d+$/.test(f[1].trim())) throw new DataError(`label (field 2) is not a non-negative integer: ${JSON.stringify(f[1])}`, file, line);
      const v = f.slice(2).map((s) => (NUMBER.test(s) ? Number(s) : NaN));
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new DataError(`field ${bad + 3} is not a number: ${JSON.stringify(f[bad + 2])}`, file, line);
      if (entries.has(f[0])) throw new DataError(`duplicate entry for ${f[0]} (first on line ${entries.get(f[0])!.line})`, file, line);
      const points: Point[] = [];
      for (let k = 0; k < 5; k++) points.push([v[2 * k] - origin, v[2 * k + 1] - origin]);
      const degenerate = degenerateLandmarks(points);
      if (degenerate) throw new DataError(`degenerate landmarks for ${f[0]}: ${degenerate}`, file, line);
      entries.set(f[0], { points, line, label: Number(f[1]) });
    } catch (e) {
      log.bad(e);
    }
  });
  return { file, entries, skipped: log.skipped };
}

/** 'sphereface' when the first non-empty line has 12 tab-separated fields, 'project' when it has 11. */
export function detectLandmarkFormat(text: string, file: string): LandmarkFormat {
  const i = text.split('\n').findIndex((l) => l.replace(/\r$/, '') !== '');
  if (i < 0) throw new DataError('empty landmark file', file);
  const n = text.split('\n')[i].replace(/\r$/, '').split('\t').length;
  if (n === 12) return 'sphereface';
  if (n === 11) return 'project';
  throw new DataError(
    `cannot tell the landmark format: ${n} tab-separated fields (12: SphereFace path, label, x1 y1 … x5 y5; 11: path, x1 y1 … x5 y5)`,
    file,
    i + 1,
  );
}

export interface TrainingLandmarks {
  /** The landmark file (anywhere; not inside a zip). */
  file: string;
  /** Default: detected from the first line (detectLandmarkFormat). */
  format?: LandmarkFormat;
  /**
   * Coordinate of the first pixel's centre in the file's convention. Default: 1 for the SphereFace format
   * (MATLAB MTCNN, like its lfw_landmark.txt), 0 for the project's format.
   */
  origin?: number;
}

export interface TrainingSetOptions {
  /** Omitted: the images are pre-aligned crops (items have `landmarks: null`, to resize/centre-crop). */
  landmarks?: TrainingLandmarks;
  /** Keep identities with at least this many images; default 1. */
  minImagesPerIdentity?: number;
  /** Keep the first n identities in sorted order (after the minimum), relabelled 0…n−1; default all. */
  maxIdentities?: number | null;
  /** Bad input (see loadTrainingSet): DataError (default) or counted skip. */
  onBad?: OnBad;
  /**
   * Pre-aligned crops only (no `landmarks`): the size every image must have. Each image's header is read (the first
   * 64 KiB of a file, the whole entry of a zip); another size, or bytes that are neither JPEG nor PNG, is bad input.
   * Checked before the filters. Default: not checked.
   */
  cropSize?: { width: number; height: number };
  /** Where image hashes are cached for a tree without MANIFEST.sha256 or a zip; default hashCacheFile(path). */
  hashCacheFile?: string;
}

/** A training set named by a path: an IdentityDataset plus where its images are and how to read them. */
export interface TrainingSet extends IdentityDataset {
  source: {
    kind: 'tree' | 'zip';
    /** Absolute path of the folder or zip. */
    path: string;
    /** Folder inside the zip that holds the identity folders ('' when they are at its top). */
    prefix: string;
  };
  /** True when there is no landmark file: the images are crops already (items' landmarks are null). */
  preAligned: boolean;
  /** The bytes of one item's image (`rel` relative to the set root), from the folder or from the zip in place. */
  readImage(rel: string): Buffer;
  /** Where an item's image is, for messages: a path, or `<zip>!/<entry>`. */
  describe(rel: string): string;
  /** Close the zip, if any. */
  close(): void;
  /** How the image hashes were obtained: the manifest, or hashed / taken from the cache. */
  hashes: { from: 'manifest' | 'hash-cache'; hashed: number; fromCache: number };
}

const IMAGE = /\.(jpe?g|png)$/i;
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `<identity>/<image>` paths of a folder tree: images one folder deep, sorted. */
function treeImages(root: string): string[] {
  const rels: string[] = [];
  for (const d of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort(byCodePoint)) {
    for (const f of readdirSync(join(root, d), { withFileTypes: true }).filter((f) => f.isFile() && IMAGE.test(f.name)).map((f) => f.name).sort(byCodePoint)) {
      rels.push(`${d}/${f}`);
    }
  }
  return rels;
}

/** Image entries of a zip as `<identity>/<image>`, and the single top folder that holds them, if any (casia.zip: `CASIA-WebFace/`). */
function zipImages(zip: ZipReader): { prefix: string; rels: string[] } {
  const files = [...zip.entries.keys()].filter((n) => !n.endsWith('/') && IMAGE.test(n) && !n.startsWith('__MACOSX/'));
  const depth = (n: string) => n.split('/').length;
  let prefix = '';
  if (files.length > 0 && files.every((n) => depth(n) === 3)) {
    const top = files[0].split('/')[0];
    if (files.every((n) => n.startsWith(`${top}/`))) prefix = `${top}/`;
  }
  const rels = files.filter((n) => n.startsWith(prefix) && depth(n) - depth(prefix) + 1 === 2).map((n) => n.slice(prefix.length));
  return { prefix, rels: rels.sort(byCodePoint) };
}

/** A landmark path as `<identity>/<image>`: backslashes, a leading `./` and any leading folders (e.g. `CASIA-WebFace/`) removed. */
function landmarkRel(path: string): string {
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  return parts.slice(-2).join('/');
}

/**
 * Load a training set named by a path: an identity-folder tree (`<root>/<identity>/<image>.jpg|png`, e.g.
 * CASIA-WebFace's `0000045/001.jpg`, VGGFace2's `n000002/0001_01.jpg`) or the same tree inside a `.zip`, read in place
 * (a single top folder, like casia.zip's `CASIA-WebFace/`, is recognised). Identities are sorted and labelled 0…n−1
 * after the filters. With `landmarks`, every image gets its 5 points from the file (SphereFace TAB format or the
 * project's); without, the images are taken as pre-aligned crops (landmarks null).
 *
 * Bad input is a DataError naming file and line, or with onBad 'skip' a counted entry in `skipped`: a malformed
 * landmark line; a label that disagrees with its folder (each folder one label, each label one folder, across the
 * file: the later line is the bad one); landmarks for an image that does not exist; an image with no landmark line.
 *
 * Every item carries its image's sha256 (so datasetViewHash never reads the images): from MANIFEST.sha256 when a
 * tree has one (verified, as for the shipped datasets), else hashed once and cached by path, size and mtime.
 */
export function loadTrainingSet(path: string, opts: TrainingSetOptions = {}): TrainingSet {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new DataError('training set not found (a folder of identity folders, or a .zip of one)', abs);
  const isZip = statSync(abs).isFile();
  const zip = isZip ? new ZipReader(abs) : null;
  try {
    return load(abs, zip, opts);
  } catch (e) {
    zip?.close();
    throw e;
  }
}

function load(abs: string, zip: ZipReader | null, opts: TrainingSetOptions): TrainingSet {
  const log = new SkipLog(opts.onBad);
  const { prefix, rels } = zip ? zipImages(zip) : { prefix: '', rels: treeImages(abs) };
  const describe = (rel: string) => (zip ? `${abs}!/${prefix}${rel}` : join(abs, rel));
  const min = opts.minImagesPerIdentity ?? 1;
  const maxIdentities = opts.maxIdentities ?? null;

  // Landmarks by <identity>/<image>.
  let landmarks: Map<string, LandmarkEntry> | null = null;
  let landmarkRecord: Record<string, unknown> | null = null;
  if (opts.landmarks && opts.cropSize) throw new Error('cropSize is for pre-aligned crops; with a landmark file the images are aligned');
  if (opts.landmarks) {
    const file = resolve(opts.landmarks.file);
    const text = readFileSync(file, 'utf8');
    const format = opts.landmarks.format ?? detectLandmarkFormat(text, file);
    const origin = opts.landmarks.origin ?? (format === 'sphereface' ? 1 : 0);
    landmarks = new Map();
    if (format === 'project') {
      const t = parseLandmarks(text, file, origin, log.onBad);
      log.skipped.push(...t.skipped);
      for (const [p, e] of t.entries) addLandmark(landmarks, landmarkRel(p), e, file, log);
    } else {
      const t = parseSphereFaceLandmarks(text, file, origin, log.onBad);
      log.skipped.push(...t.skipped);
      const folderOf = new Map<number, { folder: string; line: number }>();
      const labelOf = new Map<string, { label: number; line: number }>();
      for (const [p, e] of t.entries) {
        const rel = landmarkRel(p);
        const folder = rel.split('/')[0];
        const l = labelOf.get(folder), f = folderOf.get(e.label);
        if (l && l.label !== e.label) {
          log.bad(new DataError(`label ${e.label} for ${rel} disagrees with its folder: line ${l.line} gave folder ${folder} label ${l.label}`, file, e.line));
          continue;
        }
        if (f && f.folder !== folder) {
          log.bad(new DataError(`label ${e.label} for ${rel} disagrees with its folder: line ${f.line} gave label ${e.label} to folder ${f.folder}`, file, e.line));
          continue;
        }
        if (!l) labelOf.set(folder, { label: e.label, line: e.line });
        if (!f) folderOf.set(e.label, { folder, line: e.line });
        addLandmark(landmarks, rel, e, file, log);
      }
    }
    landmarkRecord = { sha256: sha256Hex(text), format, origin };
  }

  // Items, before the filters.
  const raw: Omit<FaceItem, 'label'>[] = [];
  const present = new Set(rels);
  for (const rel of rels) {
    const identity = rel.split('/')[0];
    if (!landmarks) {
      if (opts.cropSize) {
        const size = imageSize(zip ? zip.read(prefix + rel) : head(join(abs, rel)));
        const want = opts.cropSize;
        if (!size) {
          log.bad(new DataError('not a JPEG or PNG (no size in its header)', describe(rel)));
          continue;
        }
        if (size.width !== want.width || size.height !== want.height) {
          log.bad(new DataError(`image is ${size.width}x${size.height}, not the crop size ${want.width}x${want.height}`, describe(rel)));
          continue;
        }
      }
      raw.push({ rel, identity, landmarks: null });
      continue;
    }
    const e = landmarks.get(rel);
    if (!e) {
      log.bad(new DataError(`image without landmarks (not in ${resolve(opts.landmarks!.file)})`, describe(rel)));
      continue;
    }
    raw.push({ rel, identity, landmarks: e.points, landmarksAt: { file: resolve(opts.landmarks!.file), line: e.line } });
  }
  if (landmarks) {
    for (const [rel, e] of landmarks) {
      if (!present.has(rel)) log.bad(new DataError(`landmarks for a missing image ${describe(rel)}`, resolve(opts.landmarks!.file), e.line));
    }
  }

  // Filters: identities with at least `min` images, then the first maxIdentities in sorted order.
  const counts = new Map<string, number>();
  for (const it of raw) counts.set(it.identity, (counts.get(it.identity) ?? 0) + 1);
  let identities = [...counts.keys()].sort(byCodePoint).filter((id) => counts.get(id)! >= min);
  if (maxIdentities !== null) identities = identities.slice(0, maxIdentities);
  const label = new Map(identities.map((id, i) => [id, i]));
  const kept = raw.filter((it) => label.has(it.identity));

  // Image hashes.
  let hashes: TrainingSet['hashes'];
  let sha: Map<string, string>;
  const manifestPath = join(abs, MANIFEST_NAME);
  if (!zip && existsSync(manifestPath)) {
    const manifest = readManifestEntries(abs);
    assertManifestOk(verifyManifest(abs, { manifest, files: kept.map((it) => it.rel), cacheFile: manifestCacheFile(abs) }));
    sha = new Map(kept.map((it) => [it.rel, manifest.get(it.rel)!.sha256]));
    hashes = { from: 'manifest', hashed: 0, fromCache: 0 };
  } else {
    const r = zip
      ? hashZipEntries(zip, kept.map((it) => prefix + it.rel), { cacheFile: opts.hashCacheFile })
      : hashTreeFiles(abs, kept.map((it) => it.rel), { cacheFile: opts.hashCacheFile });
    sha = new Map([...r.sha256].map(([n, h]) => [n.slice(prefix.length), h]));
    hashes = { from: 'hash-cache', hashed: r.hashed, fromCache: r.fromCache };
  }
  const items: FaceItem[] = kept.map((it) => ({ ...it, label: label.get(it.identity)!, sha256: sha.get(it.rel)! }));

  return {
    name: basename(abs),
    imageDir: abs,
    identities,
    items,
    skipped: log.skipped,
    provenance: {
      dataset: 'path',
      source: { kind: zip ? 'zip' : 'tree', prefix },
      landmarks: landmarkRecord ?? 'none (pre-aligned crops)',
      ...(opts.cropSize ? { cropSize: opts.cropSize } : {}),
      minImagesPerIdentity: min,
      maxIdentities,
    },
    source: { kind: zip ? 'zip' : 'tree', path: abs, prefix },
    preAligned: landmarks === null,
    readImage: (rel) => (zip ? zip.read(prefix + rel) : readFileSync(join(abs, rel))),
    describe,
    close: () => zip?.close(),
    hashes,
  };
}

/** The first 64 KiB of a file (the whole file when the JPEG frame header lies further in). */
function head(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(65536);
    const n = readSync(fd, b, 0, b.length, 0);
    return n < b.length || imageSize(b.subarray(0, n)) ? b.subarray(0, n) : readFileSync(path);
  } finally {
    closeSync(fd);
  }
}

function addLandmark(into: Map<string, LandmarkEntry>, rel: string, e: LandmarkEntry, file: string, log: SkipLog): void {
  const first = into.get(rel);
  if (first) log.bad(new DataError(`duplicate entry for ${rel} (first on line ${first.line})`, file, e.line));
  else into.set(rel, { points: e.points, line: e.line });
}

