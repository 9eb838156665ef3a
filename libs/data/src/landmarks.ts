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

const POINT_NAMES = ['left eye', 'right eye', 'nose', 'left mouth corner', 'right mouth corner'];
/** Eyes closer than this (pixels) cannot define a face's scale. Real files: at least 6.1 px (LFW MTCNN ×0.6). */
export const MIN_EYE_DISTANCE = 2;
/** The 5 points' RMS spread across their main axis must reach this (pixels), else they lie on a line. Real files: ≥ 4.5 px. */
export const MIN_CROSS_SPREAD = 1;

/**
 * Why 5 landmarks (0-based, template order) cannot be aligned, or null: coincident eyes or five
 * points on (nearly) one line. Thresholds are far below any face in the shipped landmark files.
 */
export function degenerateLandmarks(points: readonly Point[]): string | null {
  if (points.length !== 5) return `expected 5 points, got ${points.length}`;
  const eyes = Math.hypot(points[1][0] - points[0][0], points[1][1] - points[0][1]);
  if (!(eyes >= MIN_EYE_DISTANCE)) return `the eyes are ${eyes.toFixed(2)} px apart (at least ${MIN_EYE_DISTANCE} needed)`;
  const mx = points.reduce((s, p) => s + p[0], 0) / 5;
  const my = points.reduce((s, p) => s + p[1], 0) / 5;
  let a = 0, b = 0, c = 0;
  for (const [x, y] of points) {
    a += (x - mx) ** 2; b += (x - mx) * (y - my); c += (y - my) ** 2;
  }
  const minor = Math.sqrt(Math.max(0, ((a + c) / 2 - Math.hypot((a - c) / 2, b)) / 5));
  if (!(minor >= MIN_CROSS_SPREAD)) {
    return `the 5 points lie on a line (${minor.toFixed(2)} px RMS spread across it; at least ${MIN_CROSS_SPREAD} needed)`;
  }
  return null;
}

/** The points outside a width × height image (pixel edges at −0.5 and size − 0.5), described, or null. */
export function landmarksOutside(points: readonly Point[], width: number, height: number): string | null {
  const out = points
    .map(([x, y], k) => (x >= -0.5 && x <= width - 0.5 && y >= -0.5 && y <= height - 0.5 ? null : `${POINT_NAMES[k] ?? `point ${k + 1}`} at (${+x.toFixed(1)}, ${+y.toFixed(1)})`))
    .filter((d): d is string => d !== null);
  return out.length === 0 ? null : out.join(', ');
}

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
 * right eye, nose tip, left and right mouth corner), returning 0-based points. Degenerate points
 * (degenerateLandmarks) are bad lines; points outside the image are caught when it is decoded.
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
      const degenerate = degenerateLandmarks(points);
      if (degenerate) throw new DataError(`degenerate landmarks for ${f[0]}: ${degenerate}`, file, line);
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
