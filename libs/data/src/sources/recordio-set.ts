import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FaceItem } from '../datasets';
import { openInsightfaceRecordIo } from '../recordio';
import { hashCacheFile, hashRecordIoImages } from './hash-cache';

/** An insightface RecordIO folder: train.rec and train.idx side by side (property optional). */
export function isRecordIoFolder(path: string): boolean {
  return existsSync(join(path, 'train.rec')) && existsSync(join(path, 'train.idx'));
}

export interface RecordIoSetOptions {
  minImagesPerIdentity?: number;
  maxIdentities?: number | null;
  hashCacheFile?: string;
}

/**
 * A training set from an insightface RecordIO folder (MS1M, Glint360K, faces_webface): pre-aligned 112×112 images
 * with their class label in the record header. Items are named by record key (`rel` = the key), identities are the
 * class labels (zero-padded), kept by the same filters as loadTrainingSet and relabelled 0…n−1 in label order.
 * Every item carries the sha256 of its encoded image: the .rec is read once and the hashes are cached by its path,
 * size and mtime. `recordio` tells the crop store where the records are (BuildCropStoreOptions.recordio).
 */
export function loadRecordIoTrainingSet(path: string, opts: RecordIoSetOptions = {}) {
  const dir = resolve(path);
  const set = openInsightfaceRecordIo(dir);
  try {
    const { labels, numClasses } = set.labels();
    const keys = Array.from({ length: set.numImages }, (_, i) => set.imageKey(i));
    const min = opts.minImagesPerIdentity ?? 1;
    const maxIdentities = opts.maxIdentities ?? null;
    const counts = new Int32Array(numClasses);
    for (const l of labels) counts[l]++;
    let classes = Array.from({ length: numClasses }, (_, c) => c).filter((c) => counts[c] >= min);
    if (maxIdentities !== null) classes = classes.slice(0, maxIdentities);
    const relabel = new Map(classes.map((c, i) => [c, i]));
    const width = String(Math.max(0, numClasses - 1)).length;
    const keptKeys = keys.filter((_, i) => relabel.has(labels[i]));
    const hashes = hashRecordIoImages(set, keptKeys, { cacheFile: opts.hashCacheFile ?? hashCacheFile(join(dir, 'train.rec')) });
    const items: FaceItem[] = [];
    keys.forEach((key, i) => {
      const label = relabel.get(labels[i]);
      if (label === undefined) return;
      items.push({ rel: String(key), identity: String(labels[i]).padStart(width, '0'), label, landmarks: null, sha256: hashes.sha256.get(String(key))! });
    });
    return {
      name: `${dir.split('/').pop()} (RecordIO)`,
      imageDir: dir,
      identities: classes.map((c) => String(c).padStart(width, '0')),
      items,
      skipped: [],
      provenance: { dataset: 'path', source: { kind: 'recordio', ...set.summary() }, landmarks: 'none (pre-aligned crops)', minImagesPerIdentity: min, maxIdentities },
      recordio: { rec: join(dir, 'train.rec'), idx: join(dir, 'train.idx') },
      hashes: { from: 'hash-cache' as const, hashed: hashes.hashed, fromCache: hashes.fromCache },
    };
  } finally {
    set.close();
  }
}

export type RecordIoTrainingSet = ReturnType<typeof loadRecordIoTrainingSet>;
