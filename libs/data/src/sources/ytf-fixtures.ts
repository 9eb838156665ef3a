// Test helper (not exported): a tiny YouTube Faces tree in the distributed layout (data-formats.md §4).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyJpeg } from './test-fixtures';

export interface YtfFixtureFrame {
  /** `<video#>.<frame#>.jpg`, like `Jane_Doe\1\1.37.jpg`'s file name. */
  name: string;
  centerX: number;
  centerY: number;
  width: number;
  height: number;
}

export interface YtfFixtureVideo {
  id: string;
  person: string;
  video: string;
  /** In frame order (numerically increasing frame numbers). */
  frames: YtfFixtureFrame[];
  /** Whether a pair names it (the extra video is on disk and in the box file only). */
  paired: boolean;
}

export interface YtfFixturePair {
  split: number;
  pairNumber: number;
  a: string;
  b: string;
  same: boolean;
}

export interface YtfFixture {
  /** Temporary folder to remove after the test. */
  dir: string;
  /** `<dir>/YouTubeFaces`: holds splits.txt and frame_images_DB/. */
  root: string;
  persons: string[];
  videos: YtfFixtureVideo[];
  /** In file order. */
  pairs: YtfFixturePair[];
  /** splits.txt's lines as written (header first), without newlines. */
  splitsLines: string[];
  /** Per person, the `.labeled_faces.txt` lines as written. */
  boxLines: Map<string, string[]>;
}

export interface YtfFixtureOptions {
  /** Default 5 (at least 2). */
  persons?: number;
  /** Videos per person, numbered 0…; default 2 (at least 2, for the same pairs). */
  videosPerPerson?: number;
  /** Frames per video; default 3. Video j of person i has framesPerVideo + ((i + j) mod 3) frames, so counts vary. */
  framesPerVideo?: number;
  /** Same pairs, then as many different pairs, per split; default 1. */
  samePerSplit?: number;
}

/** The header the writer puts on line 1 (the real file's header text is not verified; the reader skips line 1). */
export const FIXTURE_SPLITS_HEADER = 'split number, pair number, first name, second name, is same person';

/** Frame numbers that sort differently as text and as numbers (9 < 10 < 99 < 100 < 1004 …). */
function frameNumber(i: number): number {
  return i < 4 ? [9, 10, 99, 100][i] : 1000 + i;
}

/**
 * `<dir>/YouTubeFaces/`: `frame_images_DB/<Name>/<video#>/<video#>.<frame#>.jpg` (24×28 JPEGs, a different gradient
 * each), `frame_images_DB/<Name>.labeled_faces.txt` (`Name\video#\file,0,x,y,w,h,0.0,1` per frame, backslashes, every
 * frame of every video of the person), and `splits.txt`: the header, then per split 1…10 `samePerSplit` same pairs
 * (videos 0 and 1 of one person) then as many different pairs, written `k, n, Name/v, Name/v, same` with ", " between
 * fields as in the distributed file. Person 0 has one more video that no pair names.
 */
export function ytfFixture(opts: YtfFixtureOptions = {}): YtfFixture {
  const nPersons = opts.persons ?? 5;
  const nVideos = opts.videosPerPerson ?? 2;
  const nFrames = opts.framesPerVideo ?? 3;
  const nSame = opts.samePerSplit ?? 1;
  if (nPersons < 2 || nVideos < 2 || nFrames < 1 || nSame < 1) throw new Error('ytfFixture: needs ≥ 2 persons, ≥ 2 videos, ≥ 1 frame, ≥ 1 pair');
  const dir = mkdtempSync(join(tmpdir(), 'sf-ytf-'));
  const root = join(dir, 'YouTubeFaces');
  const framesDir = join(root, 'frame_images_DB');
  const persons = Array.from({ length: nPersons }, (_, i) => `Person_${String.fromCharCode(65 + (i % 26))}${i >= 26 ? i : ''}_Example`);
  const videos: YtfFixtureVideo[] = [];
  const boxLines = new Map<string, string[]>();
  let seed = 0;
  persons.forEach((person, i) => {
    const lines: string[] = [];
    const count = i === 0 ? nVideos + 1 : nVideos;
    for (let j = 0; j < count; j++) {
      const video = String(j);
      const vdir = join(framesDir, person, video);
      mkdirSync(vdir, { recursive: true });
      const frames: YtfFixtureFrame[] = [];
      for (let k = 0; k < nFrames + ((i + j) % 3); k++) {
        const name = `${video}.${frameNumber(k)}.jpg`;
        const frame = { name, centerX: 11 + (k % 3), centerY: 14 + (seed % 2), width: 14 + (k % 2), height: 16 + (seed % 3) };
        writeFileSync(join(vdir, name), tinyJpeg(seed++));
        frames.push(frame);
        lines.push(`${person}\\${video}\\${name},0,${frame.centerX},${frame.centerY},${frame.width},${frame.height},0.0,1`);
      }
      videos.push({ id: `${person}/${video}`, person, video, frames, paired: j < nVideos });
    }
    // The box file lists frames in file order of the tree, which need not be frame order: reverse one person's lines.
    if (i === 1) lines.reverse();
    boxLines.set(person, lines);
    writeFileSync(join(framesDir, `${person}.labeled_faces.txt`), lines.join('\n') + '\n');
  });

  const pairs: YtfFixturePair[] = [];
  for (let split = 1; split <= 10; split++) {
    let n = 1;
    for (let s = 0; s < nSame; s++) {
      const p = persons[(split - 1 + s) % nPersons];
      pairs.push({ split, pairNumber: n++, a: `${p}/0`, b: `${p}/1`, same: true });
    }
    for (let s = 0; s < nSame; s++) {
      const p = persons[(split - 1 + s) % nPersons];
      const q = persons[(split + s) % nPersons];
      pairs.push({ split, pairNumber: n++, a: `${p}/${split % nVideos}`, b: `${q}/${(split + 1) % nVideos}`, same: false });
    }
  }
  const splitsLines = [FIXTURE_SPLITS_HEADER, ...pairs.map((p) => `${p.split}, ${p.pairNumber}, ${p.a}, ${p.b}, ${p.same ? 1 : 0}`)];
  writeFileSync(join(root, 'splits.txt'), splitsLines.join('\n') + '\n');
  return { dir, root, persons, videos, pairs, splitsLines, boxLines };
}
