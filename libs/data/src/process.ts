import { type AlignOptions, alignFace, centreCrop, type Point, type ResolvedAlign, resolveAlign } from './align';
import { decodeImageBytes, readImageFile } from './decode';
import { DataError, type Skipped } from './errors';
import { degenerateLandmarks, landmarksOutside } from './landmarks';
import { sha256Hex } from '@sphereface/common';
import { RecordIoFile, unpackRecord } from './recordio';
import { ZipReader } from './sources/zip';

/** One image to turn into a crop: decode, then align by landmarks or centre-crop when there are none. */
export interface CropTask {
  path: string;
  landmarks: Point[] | null;
  /** The landmark file and line the points come from: implausible points are reported there. */
  landmarksAt?: { file: string; line: number };
  /** The image is this entry of a zip archive, read in place (`path` then only names it in messages). */
  zip?: { archive: string; entry: string };
  /** The image is the record with this key of an insightface RecordIO file (its encoded image, after the IRHeader). */
  record?: { rec: string; idx: string; key: number };
}

/** Zip archives and RecordIO files this thread has opened (kept open: a worker reads many images of the same one). */
const openZips = new Map<string, ZipReader>();
const openRecordIo = new Map<string, RecordIoFile>();

/** Closes the zip archives and RecordIO files this thread opened for tasks (workers' go with the worker). */
export function closeTaskSources(): void {
  for (const zip of openZips.values()) zip.close();
  for (const file of openRecordIo.values()) file.close();
  openZips.clear();
  openRecordIo.clear();
}

/** The bytes of a task's image, from its file, zip entry or RecordIO record; a DataError names what could not be read. */
function readTaskBytes(task: CropTask): Uint8Array {
  if (task.record) {
    const { rec, idx, key } = task.record;
    let file = openRecordIo.get(rec);
    if (!file) {
      file = RecordIoFile.open(rec, idx);
      openRecordIo.set(rec, file);
    }
    const raw = file.read(key);
    return unpackRecord(raw.payload, { file: rec, offset: raw.offset, key }).image;
  }
  if (!task.zip) return readImageFile(task.path);
  let zip = openZips.get(task.zip.archive);
  if (!zip) {
    zip = new ZipReader(task.zip.archive);
    openZips.set(task.zip.archive, zip);
  }
  return zip.read(task.zip.entry);
}

/**
 * Crop bytes (height × width × 3, RGB) or the reason the input was bad, with the sha256 of the bytes
 * that were read and decoded (absent when the file could not be read).
 */
export type CropResult = { ok: true; data: Uint8Array; sha256: string } | { ok: false; skipped: Skipped; sha256?: string };

/**
 * Landmarks that would give a meaningless crop: degenerate, or outside the image (a black or
 * edge-smeared crop). A DataError at the landmark file and line when known, else at the image.
 */
function checkLandmarks(task: CropTask, width: number, height: number): void {
  const bad = (reason: string) => {
    throw task.landmarksAt ? new DataError(reason, task.landmarksAt.file, task.landmarksAt.line) : new DataError(reason, task.path);
  };
  const degenerate = degenerateLandmarks(task.landmarks!);
  if (degenerate) bad(`degenerate landmarks for ${task.path}: ${degenerate}`);
  const outside = landmarksOutside(task.landmarks!, width, height);
  if (outside) bad(`landmarks of ${task.path} lie outside its ${width}×${height} image: ${outside} (0-based pixels)`);
}

/** Images without landmarks are centre-cropped (the template does not apply to them). */
function cropBytes(task: CropTask, bytes: Uint8Array, align: ResolvedAlign): Uint8Array {
  const img = decodeImageBytes(bytes, task.path, align.decoder);
  if (!task.landmarks) return centreCrop(img, align).data;
  checkLandmarks(task, img.width, img.height);
  return alignFace(img, task.landmarks, align).image.data;
}

export function cropImage(task: CropTask, align: Partial<AlignOptions> = {}): Uint8Array {
  return cropBytes(task, readTaskBytes(task), resolveAlign(align));
}

/**
 * cropImage with bad input (DataError) returned as a result instead of thrown; the file is read once and hashed.
 * An unusable template throws (a TemplateError, before any file is read): it is not bad input of one image.
 */
export function tryCropImage(task: CropTask, align: Partial<AlignOptions>): CropResult {
  const resolved = resolveAlign(align);
  let sha256: string | undefined;
  try {
    const bytes = readTaskBytes(task);
    sha256 = sha256Hex(bytes);
    return { ok: true, data: cropBytes(task, bytes, resolved), sha256 };
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { ok: false, skipped: { file: e.file, line: e.line, reason: e.reason }, ...(sha256 ? { sha256 } : {}) };
  }
}

/**
 * A DataError when the bytes behind a crop result are not those expected (the image's manifest hash, or
 * the hash its cache key was made from): the file changed since it was listed or hashed. Never skippable.
 */
export function decodedBytesError(path: string, expected: string, result: CropResult): DataError | null {
  if (result.sha256 === expected) return null;
  const got = result.sha256 === undefined ? `could not be read (${result.ok ? '' : result.skipped.reason})` : `the bytes read have sha256 ${result.sha256}`;
  return new DataError(`${got}, not the expected ${expected}: the file changed since it was listed in the manifest or hashed; nothing was cached from it`, path);
}
