import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AlignOptions, alignmentRecord } from './align';
import type { CropItem } from './crop-cache';
import { decoderId } from './decode';
import { DataError, type OnBad, SkipLog, type Skipped } from './errors';
import { contentHash } from '@sphereface/common';
import { type LandmarkSource, LANDMARK_SOURCES, parseLandmarks, type LandmarkTable } from './landmarks';
import { assertManifestOk, manifestCacheFile, readManifestEntries, readVerified, verifyManifest } from './manifest';
import { type DataRoot, datasetDir } from './paths';

/** Image folder of LFW inside the dataset folder. */
export const LFW_IMAGES = 'images_150';

/** `Name/Name_0001.jpg`, the LFW relative image path. */
export function lfwImagePath(name: string, index: number): string {
  return `${name}/${name}_${String(index).padStart(4, '0')}.jpg`;
}

export interface LfwPair {
  /** 0-based fold (View 2: ⌈i/600⌉ − 1 in pairs.txt order; View 1 files have one fold). */
  fold: number;
  same: boolean;
  a: string;
  b: string;
  /** 1-based line in the pairs file. */
  line: number;
}

export interface LfwPairs {
  file: string;
  folds: number;
  /** Matched pairs per fold (= mismatched pairs per fold). */
  perFold: number;
  pairs: LfwPair[];
  skipped: Skipped[];
}

const POSITIVE_INT = /^[1-9]\d*$/;

/**
 * Parse an LFW pairs file. View 2 (`pairs.txt`) starts with `folds<TAB>n`; View 1
 * (`pairsDevTrain.txt`, `pairsDevTest.txt`) with `n` alone (one fold). Each fold has n
 * matched lines `name i j` then n mismatched lines `name1 i name2 j`.
 */
export function parsePairs(text: string, file: string, onBad: OnBad = 'throw'): LfwPairs {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  const head = (lines[0] ?? '').split(/\s+/);
  if (!(head.length <= 2 && head.every((h) => POSITIVE_INT.test(h)))) {
    throw new DataError(`header must be "folds<TAB>pairs" or "pairs", got ${JSON.stringify(lines[0])}`, file, 1);
  }
  const [folds, perFold] = head.length === 2 ? head.map(Number) : [1, Number(head[0])];
  const expected = 1 + folds * 2 * perFold;
  if (lines.length !== expected) {
    throw new DataError(`expected ${expected} lines for ${folds} fold(s) × 2 × ${perFold} pairs, found ${lines.length}`, file);
  }
  const log = new SkipLog(onBad);
  const pairs: LfwPair[] = [];
  for (let k = 1; k < lines.length; k++) {
    const line = k + 1;
    const fold = Math.floor((k - 1) / (2 * perFold));
    const same = (k - 1) % (2 * perFold) < perFold;
    const f = lines[k].split('\t');
    try {
      const ints = same ? [f[1], f[2]] : [f[1], f[3]];
      if (f.length !== (same ? 3 : 4) || !ints.every((s) => POSITIVE_INT.test(s))) {
        const form = same ? 'name<TAB>i<TAB>j (matched pair)' : 'name1<TAB>i<TAB>name2<TAB>j (mismatched pair)';
        throw new DataError(`expected ${form}, got ${JSON.stringify(lines[k])}`, file, line);
      }
      const a = lfwImagePath(f[0], Number(f[1]));
      const b = same ? lfwImagePath(f[0], Number(f[2])) : lfwImagePath(f[2], Number(f[3]));
      if (a === b) throw new DataError(`pair of an image with itself: ${a}`, file, line);
      pairs.push({ fold, same, a, b, line });
    } catch (e) {
      log.bad(e);
    }
  }
  return { file, folds, perFold, pairs, skipped: log.skipped };
}

export interface LfwPeople {
  file: string;
  /** people.txt: 10 folds; peopleDevTrain/Test.txt: one. */
  folds: { name: string; images: number; line: number }[][];
}

/**
 * Parse an LFW people file: View 2 `people.txt` (`folds`, then per fold a count line and
 * `name<TAB>images` lines) or View 1 `peopleDev*.txt` (a count, then the lines).
 */
export function parsePeople(text: string, file: string): LfwPeople {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  const num = (k: number): number => {
    if (!POSITIVE_INT.test(lines[k] ?? '')) throw new DataError(`expected a count, got ${JSON.stringify(lines[k])}`, file, k + 1);
    return Number(lines[k]);
  };
  const folded = /^\d+$/.test(lines[1] ?? '');
  const nFolds = folded ? num(0) : 1;
  const folds: LfwPeople['folds'] = [];
  let k = folded ? 1 : 0;
  for (let fold = 0; fold < nFolds; fold++) {
    const n = num(k++);
    const people: LfwPeople['folds'][number] = [];
    for (let i = 0; i < n; i++, k++) {
      const f = (lines[k] ?? '').split('\t');
      if (f.length !== 2 || !POSITIVE_INT.test(f[1])) {
        throw new DataError(`expected name<TAB>images, got ${JSON.stringify(lines[k] ?? '<end of file>')}`, file, k + 1);
      }
      people.push({ name: f[0], images: Number(f[1]), line: k + 1 });
    }
    folds.push(people);
  }
  if (k !== lines.length) throw new DataError(`unexpected text after the last fold`, file, k + 1);
  return { file, folds };
}

export interface LfwPairsWithData extends LfwPairs {
  datasetDir: string;
  /** Absolute image folder; pair paths are relative to it. */
  imageDir: string;
  landmarks: LandmarkTable;
  landmarkSource: LandmarkSource;
  /** sha256 of every image file, from the dataset manifest (each file checked against it when loaded). */
  imageSha256: Map<string, string>;
}

export interface LoadLfwPairsOptions {
  dataRoot?: DataRoot;
  /** 'pairs.txt' (View 2, default), 'pairsDevTrain.txt' or 'pairsDevTest.txt' (View 1). */
  file?: string;
  landmarks?: LandmarkSource;
  /**
   * 'throw' (default): a malformed line, a missing image or an image without landmarks is an
   * error naming the pairs file and line. 'skip': such pairs are dropped and listed in `skipped`.
   */
  onBad?: OnBad;
  /** Folder of the manifest verification records; default <repo>/.cache/sphereface-data/manifest. */
  manifestCache?: string;
}

/**
 * Read an LFW pairs file and check that every referenced image and its landmarks exist. The pairs and
 * landmark files are checked against MANIFEST.sha256 before they are parsed, and every image of the
 * pairs kept is checked against it (hashed once, then by size, mtime and ctime): a file that does not
 * match is a ManifestError naming it and its manifest line, whatever `onBad` says.
 */
export function loadLfwPairs(opts: LoadLfwPairsOptions = {}): LfwPairsWithData {
  const dir = datasetDir('lfw', opts.dataRoot);
  const rel = opts.file ?? 'pairs.txt';
  const file = join(dir, rel);
  const source = opts.landmarks ?? LANDMARK_SOURCES.lfwMtcnn150;
  const onBad = opts.onBad ?? 'throw';
  const manifest = readManifestEntries(dir);
  const parsed = parsePairs(readVerified(dir, rel, manifest).toString('utf8'), file, onBad);
  const landmarks = parseLandmarks(readVerified(dir, source.file, manifest).toString('utf8'), join(dir, source.file), source.origin, onBad);
  const imageDir = join(dir, LFW_IMAGES);
  const imageSha256 = new Map<string, string>();
  const log = new SkipLog(onBad);
  log.skipped.push(...parsed.skipped, ...landmarks.skipped);
  const pairs = parsed.pairs.filter((p) => {
    try {
      for (const img of [p.a, p.b]) {
        const sha = manifest.get(`${LFW_IMAGES}/${img}`)?.sha256;
        if (!existsSync(join(imageDir, img))) throw new DataError(`missing image ${join(imageDir, img)}`, file, p.line);
        if (!landmarks.entries.has(img)) throw new DataError(`no landmarks for ${img} in ${landmarks.file}`, file, p.line);
        if (sha) imageSha256.set(img, sha);
      }
      return true;
    } catch (e) {
      log.bad(e);
      return false;
    }
  });
  const used = new Set(pairs.flatMap((p) => [`${LFW_IMAGES}/${p.a}`, `${LFW_IMAGES}/${p.b}`]));
  assertManifestOk(verifyManifest(dir, { manifest, files: used, cacheFile: manifestCacheFile(dir, opts.manifestCache) }));
  return { ...parsed, pairs, skipped: log.skipped, datasetDir: dir, imageDir, landmarks, landmarkSource: source, imageSha256 };
}

/** The distinct images of the pairs, in order of first use, as crop-cache items. */
export function pairImages(p: LfwPairsWithData): CropItem[] {
  const rels = [...new Set(p.pairs.flatMap((q) => [q.a, q.b]))];
  return rels.map((rel) => {
    const entry = p.landmarks.entries.get(rel)!;
    return { rel, sha256: p.imageSha256.get(rel), landmarks: entry.points, landmarksAt: { file: p.landmarks.file, line: entry.line } };
  });
}

/**
 * Stable content hash of an LFW pairs view: the pairs, their images' hashes and landmarks, alignment (as
 * alignmentRecord: a non-default template is part of it), decoder.
 */
export function pairsViewHash(p: LfwPairsWithData, align: AlignOptions): string {
  return contentHash({
    pairs: p.pairs.map((q) => [q.fold, q.same, q.a, q.b]),
    images: pairImages(p).map((it) => [it.rel, it.sha256 ?? null, it.landmarks]),
    landmarks: p.landmarkSource,
    align: alignmentRecord(align),
    decoder: decoderId(align.decoder),
  });
}
