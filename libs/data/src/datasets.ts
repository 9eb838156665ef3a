import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AlignOptions, alignmentRecord, type Point } from './align';
import { decoderId } from './decode';
import { DataError, type OnBad, SkipLog, type Skipped } from './errors';
import { contentHash, sha256Hex } from '@sphereface/common';
import { type LandmarkSource, LANDMARK_SOURCES, parseLandmarks } from './landmarks';
import { assertManifestOk, manifestCacheFile, readManifestEntries, readVerified, verifyManifest } from './manifest';
import { type DataRoot, datasetDir } from './paths';
import { permutation, rngFor } from './prng';

export interface FaceItem {
  /** Path relative to the dataset's imageDir. */
  rel: string;
  /** 0-based class index, identities[label] is its name. */
  label: number;
  identity: string;
  /** 0-based landmarks in template order, or null (images to centre-crop). */
  landmarks: Point[] | null;
  /** Where the landmarks come from (file and 1-based line), for error messages; not part of any hash. */
  landmarksAt?: { file: string; line: number };
  /** sha256 of the image file, from the dataset manifest (checked against the file by the loaders). */
  sha256?: string;
}

/** Labelled face images, the input of training and of identity-disjoint splits. */
export interface IdentityDataset {
  name: string;
  imageDir: string;
  identities: string[];
  items: FaceItem[];
  skipped: Skipped[];
  /** How the view was made (source, filters, landmarks), part of its content hash. */
  provenance: Record<string, unknown>;
}

/** Sorted subfolders and their sorted files with one of the given extensions. */
function listIdentityFolders(imageDir: string, ext: string, compare: (a: string, b: string) => number): [string, string[]][] {
  return readdirSync(imageDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort(compare)
    .map((id) => [id, readdirSync(join(imageDir, id)).filter((f) => f.endsWith(ext)).sort(compare)] as [string, string[]]);
}

/** Number labels by sorted identity and drop identities with fewer than `min` images. */
function labelItems(items: Omit<FaceItem, 'label'>[], min: number): { identities: string[]; items: FaceItem[] } {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(it.identity, (counts.get(it.identity) ?? 0) + 1);
  const identities = [...counts.keys()].filter((id) => counts.get(id)! >= min);
  const label = new Map(identities.map((id, i) => [id, i]));
  return {
    identities,
    items: items.filter((it) => label.has(it.identity)).map((it) => ({ ...it, label: label.get(it.identity)! })),
  };
}

export interface KnownDuplicates {
  /** Fewest identities that cover every cross-identity duplicate (label noise): dropped. */
  identities: string[];
  /** Second copies of same-identity duplicates: dropped, the first copy is kept. */
  files: string[];
}

/**
 * From known_duplicates.tsv (`sha256 image_a image_b same_identity`): the identities to drop,
 * chosen greedily as those appearing in most cross-identity rows until all are covered
 * (for the shipped file: 07312, which shares photos with 07310/07314/07317/07320).
 */
export function parseKnownDuplicates(text: string, file: string): KnownDuplicates {
  const rows = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l, i) => i > 0 && l !== '');
  const cross: [string, string][] = [];
  const files: string[] = [];
  rows.forEach((l, i) => {
    const f = l.split('\t');
    if (f.length !== 4 || !['yes', 'no'].includes(f[3])) {
      throw new DataError(`expected sha256<TAB>image_a<TAB>image_b<TAB>yes|no, got ${JSON.stringify(l)}`, file, i + 2);
    }
    if (f[3] === 'yes') files.push(f[2]);
    else cross.push([f[1].split('/')[0], f[2].split('/')[0]]);
  });
  const identities: string[] = [];
  for (let left = cross; left.length > 0; ) {
    const n = new Map<string, number>();
    for (const r of left) for (const id of r) n.set(id, (n.get(id) ?? 0) + 1);
    const worst = [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
    identities.push(worst);
    left = left.filter((r) => !r.includes(worst));
  }
  return { identities, files };
}

export interface LoadCelebaOptions {
  dataRoot?: DataRoot;
  /** Keep identities with at least this many images (after dropping duplicates); default 1. */
  minImagesPerIdentity?: number;
  /** Drop what known_duplicates.tsv flags (see parseKnownDuplicates); default true. */
  dropKnownDuplicates?: boolean;
  landmarks?: LandmarkSource;
  /** An image without landmarks, or landmarks without an image: error (default) or counted skip. */
  onBad?: OnBad;
  /** Folder of the manifest verification records; default <repo>/.cache/sphereface-data/manifest. */
  manifestCache?: string;
}

/** Check the images of a loaded view against the manifest (hashed once, then by size, mtime and ctime). */
function verifyItems(dir: string, prefix: string, items: readonly FaceItem[], manifest: ReturnType<typeof readManifestEntries>, folder?: string): void {
  const files = items.map((it) => `${prefix}${it.rel}`);
  assertManifestOk(verifyManifest(dir, { manifest, files, cacheFile: manifestCacheFile(dir, folder) }));
}

/**
 * The CelebA subset as an identity dataset: every image with its 5 dlib landmarks. The landmark and
 * duplicate files are checked against MANIFEST.sha256 before they are parsed, and every image kept is
 * checked against it: a file that does not match is a ManifestError, whatever `onBad` says.
 */
export function loadCelebaSubset(opts: LoadCelebaOptions = {}): IdentityDataset {
  const dir = datasetDir('celeba_subset', opts.dataRoot);
  const imageDir = join(dir, 'images_150');
  const source = opts.landmarks ?? LANDMARK_SOURCES.celebaDlib150;
  const min = opts.minImagesPerIdentity ?? 1;
  const dropDup = opts.dropKnownDuplicates ?? true;
  const log = new SkipLog(opts.onBad);
  const manifest = readManifestEntries(dir);
  const lm = parseLandmarks(readVerified(dir, source.file, manifest).toString('utf8'), join(dir, source.file), source.origin, log.onBad);
  log.skipped.push(...lm.skipped);
  const dupFile = join(dir, 'known_duplicates.tsv');
  const dups = dropDup ? parseKnownDuplicates(readVerified(dir, 'known_duplicates.tsv', manifest).toString('utf8'), dupFile) : { identities: [], files: [] };
  const seen = new Set<string>();
  const raw: Omit<FaceItem, 'label'>[] = [];
  for (const [identity, files] of listIdentityFolders(imageDir, '.jpg', (a, b) => a.localeCompare(b))) {
    for (const f of files) {
      const rel = `${identity}/${f}`;
      seen.add(rel);
      const entry = lm.entries.get(rel);
      if (!entry) {
        log.bad(new DataError(`image without landmarks (not in ${lm.file})`, join(imageDir, rel)));
        continue;
      }
      if (dups.identities.includes(identity) || dups.files.includes(rel)) continue;
      raw.push({ rel, identity, landmarks: entry.points, landmarksAt: { file: lm.file, line: entry.line }, sha256: manifest.get(`images_150/${rel}`)?.sha256 });
    }
  }
  for (const [rel, e] of lm.entries) {
    if (!seen.has(rel)) log.bad(new DataError(`landmarks for a missing image ${join(imageDir, rel)}`, lm.file, e.line));
  }
  const { identities, items } = labelItems(raw, min);
  verifyItems(dir, 'images_150/', items, manifest, opts.manifestCache);
  return {
    name: 'celeba_subset',
    imageDir,
    identities,
    items,
    skipped: log.skipped,
    provenance: { dataset: 'celeba_subset', landmarks: source, minImagesPerIdentity: min, dropped: dups },
  };
}

/** AT&T faces: 40 subjects × 10 grey PGM images, no landmarks (aligned by centre crop); every image checked against the manifest. */
export function loadAttFaces(opts: { dataRoot?: DataRoot; manifestCache?: string } = {}): IdentityDataset {
  const dir = datasetDir('att_faces', opts.dataRoot);
  const manifest = readManifestEntries(dir);
  const byNumber = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const raw: Omit<FaceItem, 'label'>[] = [];
  for (const [identity, files] of listIdentityFolders(dir, '.pgm', byNumber)) {
    for (const f of files) raw.push({ rel: `${identity}/${f}`, identity, landmarks: null, sha256: manifest.get(`${identity}/${f}`)?.sha256 });
  }
  const { identities, items } = labelItems(raw, 1);
  verifyItems(dir, '', items, manifest, opts.manifestCache);
  return { name: 'att_faces', imageDir: dir, identities, items, skipped: [], provenance: { dataset: 'att_faces' } };
}

/** Subset of `ds` holding the given identities, relabelled 0..k-1 in the given order. */
function subsetByIdentity(ds: IdentityDataset, ids: string[], part: string): IdentityDataset {
  const label = new Map(ids.map((id, i) => [id, i]));
  return {
    ...ds,
    identities: ids,
    items: ds.items.filter((it) => label.has(it.identity)).map((it) => ({ ...it, label: label.get(it.identity)! })),
    provenance: { ...ds.provenance, part },
  };
}

/**
 * Identity-disjoint split: a seeded random choice of round(fraction × identities) identities
 * goes to the second part. Labels are renumbered within each part (sorted identity order).
 */
export function splitByIdentity(
  ds: IdentityDataset,
  opts: { fraction: number; seed: number },
): { train: IdentityDataset; test: IdentityDataset } {
  if (!(opts.fraction > 0 && opts.fraction < 1)) throw new Error(`split fraction must be in (0, 1), got ${opts.fraction}`);
  const perm = permutation(ds.identities.length, rngFor(opts.seed));
  const k = Math.round(opts.fraction * ds.identities.length);
  const chosen = new Set(Array.from(perm.subarray(0, k), (i) => ds.identities[i]));
  const spec = `identity split seed ${opts.seed} fraction ${opts.fraction}`;
  return {
    train: subsetByIdentity(ds, ds.identities.filter((id) => !chosen.has(id)), `${spec}: train`),
    test: subsetByIdentity(ds, ds.identities.filter((id) => chosen.has(id)), `${spec}: test`),
  };
}

/**
 * Stable content hash of a dataset view (images by content, labels, landmarks, filters, and the
 * alignment and decoder that turn it into tensors), for experiment records. The alignment enters as
 * alignmentRecord(align): a template other than the default is part of it, the default one is left out
 * (so hashes made before templates were named still hold).
 */
export function datasetViewHash(ds: IdentityDataset, align: AlignOptions): string {
  return contentHash({
    provenance: ds.provenance,
    identities: ds.identities,
    items: ds.items.map((it) => [it.rel, it.label, imageSha256(ds.imageDir, it), it.landmarks]),
    align: alignmentRecord(align),
    decoder: decoderId(align.decoder),
  });
}

/** The item's image hash: from the manifest when known, else hashed from the file. */
export function imageSha256(imageDir: string, item: Pick<FaceItem, 'rel' | 'sha256'>): string {
  if (item.sha256) return item.sha256;
  const path = join(imageDir, item.rel);
  try {
    return sha256Hex(readFileSync(path));
  } catch (e) {
    throw new DataError(`missing image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
}
