/**
 * YouTube Faces (YTF) as distributed, for the video-pair verification benchmark. Layout
 * (shared/reference/data-formats.md §4, sources [Y1] vitay/YouTubeFacesDB Generator.py, [Y2] insightface
 * src/eval/ytf.py, [Y4] chenichadowitz/YouTubeFaces-Fisher loadSplits.m):
 *
 * - `<root>/splits.txt`: one header line, then one pair per line of 5 comma-separated fields
 *   `split, n, Name/video#, Name/video#, same` (spaces around the fields are trimmed, [Y2]); 10 splits × 500 pairs.
 * - `<root>/frame_images_DB/<Name>/<video#>/*.jpg`: the frames of one video.
 * - `<root>/frame_images_DB/<Name>.labeled_faces.txt`: one comma-separated line per frame of that person's videos:
 *   col 0 the frame path with backslashes (`Name\video#\file`), cols 2, 3 the face centre x, y and cols 4, 5 its
 *   width and height (integers); the face crop is centre ± size/2 [Y1]. YTF has no facial landmarks: this box is the
 *   only per-frame geometry. The meaning of cols 1, 6, 7 is unverified; they are kept as read (`columns`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from '../errors';

/** Folder of the original frames inside the YTF root. */
export const YTF_FRAMES_DIR = 'frame_images_DB';
/** The pairs file inside the YTF root. */
export const YTF_SPLITS_FILE = 'splits.txt';
/** Splits (folds) of the YTF protocol, numbered 1…10 in splits.txt. */
export const YTF_SPLITS = 10;
/** Pairs per split in the distributed splits.txt (5,000 lines = 10 × 500 [Y4]). */
export const YTF_PAIRS_PER_SPLIT = 500;

export interface YtfPair {
  /** Split (fold) number as written, 1…10; the pairs of split k are test fold k. */
  split: number;
  /**
   * The second integer field as written. It looks like the pair's number within its split, but that is unverified
   * (no reader uses it: [Y2] skips it, [Y4] reads and ignores it), so it is not checked beyond being an integer.
   */
  pairNumber: number;
  /** First video, `Name/video#` (the folder `frame_images_DB/Name/video#`), as written after trimming. */
  a: string;
  /** Second video. */
  b: string;
  /** Field 5: 1 = the same person, 0 = different people. */
  same: boolean;
  /** The splits file (absolute when loaded by loadYtf) and the 1-based line of the pair. */
  file: string;
  line: number;
}

export interface YtfSplits {
  file: string;
  /** Line 1, as read (not interpreted). */
  header: string;
  /** In file order. */
  pairs: YtfPair[];
  /** Every split has this many pairs (checked). */
  pairsPerSplit: number;
}

export interface ParseYtfSplitsOptions {
  /** Require exactly this many pairs in every split (the distributed file: YTF_PAIRS_PER_SPLIT). Default: only equal counts. */
  pairsPerSplit?: number;
}

const UINT = /^\d+$/;
const INT = /^[+-]?\d+$/;
const VIDEO = /^([^/\\]+)\/(\d+)$/;

/** `Name/video#` → its parts, or null when it is not that shape (or Name is `.` / `..`). */
function videoParts(s: string): { person: string; video: string } | null {
  const m = VIDEO.exec(s);
  if (!m || m[1] === '.' || m[1] === '..') return null;
  return { person: m[1], video: m[2] };
}

/** Lines of a text file: `\r` before a newline dropped, and the empty string after a final newline removed. */
function textLines(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Parse YTF's `splits.txt` exactly as distributed: line 1 is a header (skipped, as Matlab's `HeaderLines 1` [Y4];
 * its text is not interpreted, but a header that parses as a pair line is taken for a missing header); every other
 * line is `split, n, Name/video#, Name/video#, same` — exactly 5 comma-separated fields, each trimmed of whitespace.
 *
 * A DataError naming file and line for: a wrong field count; a split number that is not an integer in 1…10; a second
 * field that is not an integer; a video that is not `Name/video#`; a same flag other than 0 or 1; a pair of a video
 * with itself; a "same" pair of two names or a "different" pair of one name; an empty line (except after the final
 * newline). Then every split 1…10 must be present with the same number of pairs (and `pairsPerSplit`, when given):
 * otherwise a DataError naming the first line of the split whose count is off (or the last line, for a missing split).
 * The same/different balance within a split is not checked ([Y4] assumes 250 + 250, unverified).
 */
export function parseYtfSplits(text: string, file: string, opts: ParseYtfSplitsOptions = {}): YtfSplits {
  const lines = textLines(text);
  if (lines.length === 0 || (lines.length === 1 && lines[0].trim() === '')) throw new DataError('empty splits file (expected a header line, then pairs)', file, 1);
  if (pairLine(lines[0], file, 1, false) !== null) {
    throw new DataError(`line 1 must be the header line, got a pair line ${JSON.stringify(lines[0])}`, file, 1);
  }
  const pairs: YtfPair[] = [];
  for (let k = 1; k < lines.length; k++) pairs.push(pairLine(lines[k], file, k + 1, true)!);

  const bySplit = new Map<number, YtfPair[]>();
  for (const p of pairs) {
    const list = bySplit.get(p.split) ?? [];
    list.push(p);
    bySplit.set(p.split, list);
  }
  for (let s = 1; s <= YTF_SPLITS; s++) {
    if (!bySplit.has(s)) throw new DataError(`split ${s} has no pairs (splits 1…${YTF_SPLITS} must all be present)`, file, lines.length);
  }
  const counts = Array.from({ length: YTF_SPLITS }, (_, i) => bySplit.get(i + 1)!.length);
  let expected = opts.pairsPerSplit;
  if (expected === undefined) {
    // The most common count (ties: the lowest split's) is the reference; the first split that differs is the bad one.
    const freq = new Map<number, number>();
    for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
    expected = counts.reduce((best, c) => (freq.get(c)! > freq.get(best)! ? c : best), counts[0]);
  }
  const bad = counts.findIndex((c) => c !== expected);
  if (bad >= 0) {
    const list = bySplit.get(bad + 1)!;
    const others = opts.pairsPerSplit === undefined ? `the other splits have ${expected}` : `expected ${expected}`;
    throw new DataError(
      `split ${bad + 1} has ${list.length} pairs, ${others} (counts of splits 1…${YTF_SPLITS}: ${counts.join(', ')}); the split starts here`,
      file,
      list[0].line,
    );
  }
  return { file, header: lines[0], pairs, pairsPerSplit: expected };
}

/** One pair line; with `strict` false, null instead of a DataError (to recognise a missing header). */
function pairLine(raw: string, file: string, line: number, strict: boolean): YtfPair | null {
  const fail = (reason: string): null => {
    if (strict) throw new DataError(reason, file, line);
    return null;
  };
  if (raw.trim() === '') return fail('empty line');
  const f = raw.split(',').map((s) => s.trim());
  if (f.length !== 5) {
    return fail(`expected 5 comma-separated fields (split, pair number, Name/video#, Name/video#, same), got ${f.length}: ${JSON.stringify(raw)}`);
  }
  if (!UINT.test(f[0])) return fail(`split number (field 1) is not an integer: ${JSON.stringify(f[0])}`);
  const split = Number(f[0]);
  if (split < 1 || split > YTF_SPLITS) return fail(`split number ${split} is out of range 1…${YTF_SPLITS}`);
  if (!INT.test(f[1])) return fail(`field 2 is not an integer: ${JSON.stringify(f[1])}`);
  const pa = videoParts(f[2]);
  if (!pa) return fail(`first video (field 3) is not Name/video#: ${JSON.stringify(f[2])}`);
  const pb = videoParts(f[3]);
  if (!pb) return fail(`second video (field 4) is not Name/video#: ${JSON.stringify(f[3])}`);
  if (f[4] !== '0' && f[4] !== '1') return fail(`same flag (field 5) must be 1 or 0, got ${JSON.stringify(f[4])}`);
  const same = f[4] === '1';
  if (f[2] === f[3]) return fail(`pair of a video with itself: ${f[2]}`);
  if (same && pa.person !== pb.person) return fail(`marked same person (1) but the names differ: ${pa.person}, ${pb.person}`);
  if (!same && pa.person === pb.person) return fail(`marked different people (0) but both videos are ${pa.person}'s`);
  return { split, pairNumber: Number(f[1]), a: f[2], b: f[3], same, file, line };
}

export interface YtfFaceBox {
  /** Face centre x, y (cols 2, 3) and size (cols 4, 5), pixels, as written. */
  centerX: number;
  centerY: number;
  width: number;
  height: number;
  /** The crop [Y1]: left = centerX − width/2, top = centerY − height/2, right = centerX + width/2, bottom = centerY + height/2. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface YtfFrameGeometry extends YtfFaceBox {
  /** Every field of the line as read, trimmed (cols 1, 6, 7 have no verified meaning). */
  columns: string[];
  /** The `.labeled_faces.txt` file and the 1-based line. */
  file: string;
  line: number;
}

/**
 * Parse one person's `frame_images_DB/<Name>.labeled_faces.txt`: per line at least 6 comma-separated fields, col 0
 * `Name\video#\frame` (backslashes; forward slashes are accepted too), cols 2–5 integers (centre x, y, width, height;
 * width and height > 0). Keyed by `Name/video#/frame`. A DataError naming file and line for: fewer than 6 fields, a
 * path that is not three parts or not `person`'s, a coordinate that is not an integer, a non-positive size, a frame
 * listed twice, an empty line (except after the final newline).
 */
export function parseYtfLabeledFaces(text: string, file: string, person: string): Map<string, YtfFrameGeometry> {
  const out = new Map<string, YtfFrameGeometry>();
  textLines(text).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') {
      if (i === 0 && text.trim() === '') return; // an empty file: no frames
      throw new DataError('empty line', file, line);
    }
    const f = raw.split(',').map((s) => s.trim());
    if (f.length < 6) throw new DataError(`expected at least 6 comma-separated fields (Name\\video#\\frame, ?, x, y, w, h, …), got ${f.length}`, file, line);
    const parts = f[0].split(/[\\/]/);
    if (parts.length !== 3 || parts.some((p) => p === '' || p === '.' || p === '..') || !UINT.test(parts[1])) {
      throw new DataError(`frame path (field 1) is not Name\\video#\\frame: ${JSON.stringify(f[0])}`, file, line);
    }
    if (parts[0] !== person) throw new DataError(`frame ${JSON.stringify(f[0])} is not ${person}'s (this is ${person}'s file)`, file, line);
    const bad = [2, 3, 4, 5].find((c) => !INT.test(f[c]));
    if (bad !== undefined) throw new DataError(`field ${bad + 1} is not an integer: ${JSON.stringify(f[bad])}`, file, line);
    const [centerX, centerY, width, height] = [2, 3, 4, 5].map((c) => Number(f[c]));
    if (width <= 0 || height <= 0) throw new DataError(`face size ${width}x${height} is not positive`, file, line);
    const rel = parts.join('/');
    const first = out.get(rel);
    if (first) throw new DataError(`frame ${rel} listed twice (first on line ${first.line})`, file, line);
    out.set(rel, {
      centerX,
      centerY,
      width,
      height,
      left: centerX - width / 2,
      top: centerY - height / 2,
      right: centerX + width / 2,
      bottom: centerY + height / 2,
      columns: f,
      file,
      line,
    });
  });
  return out;
}

export interface YtfFrame {
  /** `Name/video#/frame.jpg`, relative to `framesDir`. */
  rel: string;
  /** Absolute path. */
  path: string;
  /** 0-based position among all of the video's frames in frame order (before the cap). */
  index: number;
  /** The frame's face box, or null with `geometry: 'none'`. */
  geometry: YtfFrameGeometry | null;
}

export interface YtfVideo {
  /** `Name/video#`, as in splits.txt. */
  id: string;
  person: string;
  video: string;
  /** Absolute folder of the frames. */
  dir: string;
  /** All JPEGs in the folder, before the cap. */
  totalFrames: number;
  /** The frames kept (all, or `maxFramesPerVideo` evenly spaced), in frame order. */
  frames: YtfFrame[];
  /** Where splits.txt first names the video. */
  firstLine: number;
}

export interface LoadYtfOptions {
  /** The pairs file; default `<root>/splits.txt`. */
  splitsFile?: string;
  /** Require this many pairs per split (e.g. YTF_PAIRS_PER_SPLIT); default: only equal counts. */
  pairsPerSplit?: number;
  /**
   * Keep at most this many frames per video: with n frames and cap k < n, frame ⌊(2i + 1)·n / (2k)⌋ for i = 0…k−1
   * (frame order), i.e. the centres of k equal runs: evenly spaced, deterministic, the same on every machine; k = 1 is
   * the middle frame. Default null: every frame.
   */
  maxFramesPerVideo?: number | null;
  /**
   * 'require' (default): read `<Name>.labeled_faces.txt` of every person in the pairs; every frame of every video in
   * the pairs must have a line and every line for such a video must name an existing frame. 'none': do not read them
   * (frames' geometry is null).
   */
  geometry?: 'require' | 'none';
}

export interface YtfDataset {
  /** Absolute YTF root. */
  root: string;
  /** `<root>/frame_images_DB`. */
  framesDir: string;
  splitsFile: string;
  header: string;
  pairs: YtfPair[];
  pairsPerSplit: number;
  /** The videos the pairs name, by `Name/video#`, in order of first use. */
  videos: Map<string, YtfVideo>;
  maxFramesPerVideo: number | null;
  geometry: 'require' | 'none';
}

/** Frame file names in frame order: runs of digits compare as numbers (`0.9.jpg` < `0.10.jpg` < `0.100.jpg`), ties by code point. */
export function compareFrameNames(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i], y = rb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x), dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x), ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue; // same value, different zero padding: decided by code point below
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The positions kept by the cap: ⌊(2i + 1)·n / (2k)⌋, i = 0…k−1, or all n when k is null or ≥ n. */
export function evenlySpacedFrames(n: number, k: number | null): number[] {
  if (k !== null && (!Number.isInteger(k) || k < 1)) throw new Error(`maxFramesPerVideo must be a positive integer or null, got ${k}`);
  if (k === null || k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor(((2 * i + 1) * n) / (2 * k)));
}

const FRAME = /\.jpe?g$/i;

/**
 * Load the YTF benchmark under `root` (the folder holding `splits.txt` and `frame_images_DB/`): the pairs (see
 * parseYtfSplits), and for every video they name its frames (`*.jpg`/`*.jpeg` in the folder, in frame order, see
 * compareFrameNames; capped by `maxFramesPerVideo`) and, with `geometry: 'require'`, each frame's face box.
 *
 * Besides the splits file's own errors, a DataError for: no `frame_images_DB` folder; a video folder that is missing
 * or holds no JPEG (naming splits.txt and the first line that names the video); a missing `<Name>.labeled_faces.txt`
 * or a bad line in it; a line for a frame of a paired video that is not on disk (that file and line); a frame of a
 * paired video without a line (naming the frame).
 */
export function loadYtf(root: string, opts: LoadYtfOptions = {}): YtfDataset {
  const abs = resolve(root);
  const framesDir = join(abs, YTF_FRAMES_DIR);
  const splitsFile = resolve(opts.splitsFile ?? join(abs, YTF_SPLITS_FILE));
  const geometry = opts.geometry ?? 'require';
  const cap = opts.maxFramesPerVideo ?? null;
  evenlySpacedFrames(0, cap); // validates the cap before any reading
  if (!existsSync(splitsFile)) throw new DataError('YTF splits file not found', splitsFile);
  const splits = parseYtfSplits(readFileSync(splitsFile, 'utf8'), splitsFile, { pairsPerSplit: opts.pairsPerSplit });
  if (!existsSync(framesDir) || !statSync(framesDir).isDirectory()) {
    throw new DataError(`no ${YTF_FRAMES_DIR} folder in the YTF root ${abs}`, framesDir);
  }

  const videos = new Map<string, YtfVideo>();
  const allFrames = new Map<string, string[]>(); // video id → every frame name, in frame order
  for (const p of splits.pairs) {
    for (const id of [p.a, p.b]) {
      if (videos.has(id)) continue;
      const { person, video } = videoParts(id)!;
      const dir = join(framesDir, person, video);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataError(`video folder ${dir} not found (for ${id})`, splitsFile, p.line);
      const names = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && FRAME.test(e.name))
        .map((e) => e.name)
        .sort(compareFrameNames);
      if (names.length === 0) throw new DataError(`video folder ${dir} holds no .jpg frame (for ${id})`, splitsFile, p.line);
      allFrames.set(id, names);
      const frames = evenlySpacedFrames(names.length, cap).map((index): YtfFrame => {
        const rel = `${id}/${names[index]}`;
        return { rel, path: join(framesDir, rel), index, geometry: null };
      });
      videos.set(id, { id, person, video, dir, totalFrames: names.length, frames, firstLine: p.line });
    }
  }

  if (geometry === 'require') {
    const persons = [...new Set([...videos.values()].map((v) => v.person))];
    for (const person of persons) {
      const file = join(framesDir, `${person}.labeled_faces.txt`);
      if (!existsSync(file)) throw new DataError(`face box file not found (needed for ${person}'s videos in the pairs)`, file);
      const boxes = parseYtfLabeledFaces(readFileSync(file, 'utf8'), file, person);
      const mine = [...videos.values()].filter((v) => v.person === person);
      const onDisk = new Set(mine.flatMap((v) => allFrames.get(v.id)!.map((n) => `${v.id}/${n}`)));
      for (const [rel, g] of boxes) {
        const id = rel.slice(0, rel.lastIndexOf('/'));
        if (videos.has(id) && !onDisk.has(rel)) throw new DataError(`face box for a frame that is not on disk: ${join(framesDir, rel)}`, file, g.line);
      }
      for (const v of mine) {
        for (const name of allFrames.get(v.id)!) {
          if (!boxes.has(`${v.id}/${name}`)) throw new DataError(`frame has no line in ${file}`, join(v.dir, name));
        }
        for (const fr of v.frames) fr.geometry = boxes.get(fr.rel)!;
      }
    }
  }

  return {
    root: abs,
    framesDir,
    splitsFile,
    header: splits.header,
    pairs: splits.pairs,
    pairsPerSplit: splits.pairsPerSplit,
    videos,
    maxFramesPerVideo: cap,
    geometry,
  };
}
