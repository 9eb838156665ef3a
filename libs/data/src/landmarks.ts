import { readFileSync } from 'node:fs';
import type { Point } from './align';
import { DataError, type OnBad, SkipLog, type Skipped } from './errors';

/**
 * A landmark file and its coordinate origin: the coordinate, in the file's own convention, of
 * the centre of the first pixel. 0 for dlib/OpenCV, 1 for MATLAB. Points are converted to this
 * library's 0-based convention by subtracting the origin.
 */
export interface LandmarkSource {
  /** Path relative to the dataset folder. */
  file: string;
  origin: number;
  /** Short description, recorded in dataset views. */
  note: string;
}

export const LANDMARK_SOURCES = {
  /** MTCNN points for raw 250×250 LFW, as used by the SphereFace MATLAB pipeline (1-based). */
  lfwMtcnn250: { file: 'landmarks/lfw_landmark.txt', origin: 1, note: 'MTCNN, 250x250 raw LFW, MATLAB 1-based' },
  /**
   * The 250×250 file × 0.6 for images_150. A 1-based value v maps to 150-pixel 0-based
   * coordinates as (v/0.6 − 1 + 0.5)·0.6 − 0.5 = v − 0.8, so the origin is 0.8.
   */
  lfwMtcnn150: { file: 'landmarks/lfw_landmark_150.txt', origin: 0.8, note: 'MTCNN x0.6 for images_150' },
  /** dlib 68-point model reduced to 5 points on images_150 (0-based). */
  lfwDlib150: { file: 'landmarks/lfw_landmark_150_dlib.txt', origin: 0, note: 'dlib 5 of 68, images_150' },
  /** dlib points on the CelebA crops (0-based). */
  celebaDlib150: { file: 'landmarks/landmark_150.txt', origin: 0, note: 'dlib 5 of 68, celeba_subset 150x150' },
} as const satisfies Record<string, LandmarkSource>;

export interface LandmarkEntry {
  points: Point[];
  /** 1-based line in the landmark file, for error messages. */
  line: number;
}

export interface LandmarkTable {
  file: string;
  entries: Map<string, LandmarkEntry>;
  skipped: Skipped[];
}

/**
 * Parse a tab-separated landmark file: `relative/path.jpg  x1 y1 … x5 y5` per line (left eye,
 * right eye, nose tip, left and right mouth corner), returning 0-based points.
 */
export function parseLandmarks(text: string, file: string, origin: number, onBad: OnBad = 'throw'): LandmarkTable {
  const log = new SkipLog(onBad);
  const entries = new Map<string, LandmarkEntry>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/\r$/, '');
    if (t === '' && i === lines.length - 1) return; // final newline
    try {
      const f = t.split('\t');
      if (f.length !== 11) throw new DataError(`expected a path and 10 numbers separated by tabs, got ${f.length} fields`, file, line);
      const v = f.slice(1).map((s) => (/^\s*-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(s) ? Number(s) : NaN));
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new DataError(`field ${bad + 2} is not a number: ${JSON.stringify(f[bad + 1])}`, file, line);
      if (entries.has(f[0])) throw new DataError(`duplicate entry for ${f[0]} (first on line ${entries.get(f[0])!.line})`, file, line);
      const points: Point[] = [];
      for (let k = 0; k < 5; k++) points.push([v[2 * k] - origin, v[2 * k + 1] - origin]);
      entries.set(f[0], { points, line });
    } catch (e) {
      log.bad(e);
    }
  });
  return { file, entries, skipped: log.skipped };
}

/** Read a landmark file; see parseLandmarks. */
export function readLandmarks(path: string, opts: { origin: number; onBad?: OnBad }): LandmarkTable {
  return parseLandmarks(readFileSync(path, 'utf8'), path, opts.origin, opts.onBad);
}
