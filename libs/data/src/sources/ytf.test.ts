import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataError } from '../test-data';
import {
  compareFrameNames,
  evenlySpacedFrames,
  imageSize,
  loadYtf,
  parseYtfLabeledFaces,
  parseYtfSplits,
  YTF_PAIRS_PER_SPLIT,
  type YtfDataset,
} from './index';
import { tinyJpeg } from './test-fixtures';
import { FIXTURE_SPLITS_HEADER, type YtfFixture, ytfFixture } from './ytf-fixtures';

const made: string[] = [];
function fixture(opts: Parameters<typeof ytfFixture>[0] = {}): YtfFixture {
  const f = ytfFixture(opts);
  made.push(f.dir);
  return f;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

const splitsPath = (f: YtfFixture) => join(f.root, 'splits.txt');
const framesDir = (f: YtfFixture) => join(f.root, 'frame_images_DB');
function writeSplits(f: YtfFixture, lines: string[], ending = '\n'): string {
  writeFileSync(splitsPath(f), lines.join(ending) + ending);
  return splitsPath(f);
}
/** Line number (1-based) in f.splitsLines of the first pair line whose text satisfies `pred`. */
function lineOf(lines: string[], pred: (l: string) => boolean): number {
  const i = lines.findIndex((l, k) => k > 0 && pred(l));
  if (i < 0) throw new Error('no such line');
  return i + 1;
}

describe('loadYtf on a generated tree in the distributed layout', () => {
  it('reads the pairs, the paired videos with their frames in frame order, and every frame\'s face box', () => {
    const f = fixture();
    const d = loadYtf(f.root);
    expect(d.root).toBe(f.root);
    expect(d.splitsFile).toBe(splitsPath(f));
    expect(d.header).toBe(FIXTURE_SPLITS_HEADER);
    expect(d.pairsPerSplit).toBe(2);
    expect(d.pairs.map((p) => ({ split: p.split, pairNumber: p.pairNumber, a: p.a, b: p.b, same: p.same }))).toEqual(f.pairs);
    expect(d.pairs.map((p) => p.line)).toEqual(f.pairs.map((_, i) => i + 2));
    expect(d.pairs.every((p) => p.file === splitsPath(f))).toBe(true);

    // Only the videos a pair names (Person_A's extra video 2 is not), in order of first use.
    const firstUse: string[] = [];
    for (const p of f.pairs) for (const id of [p.a, p.b]) if (!firstUse.includes(id)) firstUse.push(id);
    expect([...d.videos.keys()]).toEqual(firstUse);
    expect(d.videos.has(`${f.persons[0]}/2`)).toBe(false);

    for (const fv of f.videos.filter((v) => v.paired)) {
      const v = d.videos.get(fv.id)!;
      expect(v).toBeDefined();
      expect([v.person, v.video, v.dir]).toEqual([fv.person, fv.video, join(framesDir(f), fv.person, fv.video)]);
      expect(v.totalFrames).toBe(fv.frames.length);
      expect(v.frames.map((fr) => fr.rel)).toEqual(fv.frames.map((fr) => `${fv.id}/${fr.name}`));
      expect(v.frames.map((fr) => fr.index)).toEqual(fv.frames.map((_, i) => i));
      const boxFile = join(framesDir(f), `${fv.person}.labeled_faces.txt`);
      const boxLines = f.boxLines.get(fv.person)!;
      v.frames.forEach((fr, i) => {
        const want = fv.frames[i];
        expect(existsSync(fr.path)).toBe(true);
        expect(imageSize(readFileSync(fr.path))).toEqual({ width: 24, height: 28 });
        const g = fr.geometry!;
        expect([g.centerX, g.centerY, g.width, g.height]).toEqual([want.centerX, want.centerY, want.width, want.height]);
        expect([g.left, g.top, g.right, g.bottom]).toEqual([
          want.centerX - want.width / 2,
          want.centerY - want.height / 2,
          want.centerX + want.width / 2,
          want.centerY + want.height / 2,
        ]);
        expect(g.file).toBe(boxFile);
        const lineText = `${fv.person}\\${fv.video}\\${want.name},0,${want.centerX},${want.centerY},${want.width},${want.height},0.0,1`;
        expect(g.line).toBe(boxLines.indexOf(lineText) + 1);
        expect(g.columns).toEqual(lineText.split(','));
      });
    }
  });

  it('frame order is numeric (9 < 10 < 99 < 100), not code-point order', () => {
    const names = ['0.100.jpg', '0.9.jpg', '0.1004.jpg', '0.10.jpg', '0.99.jpg'];
    expect([...names].sort(compareFrameNames)).toEqual(['0.9.jpg', '0.10.jpg', '0.99.jpg', '0.100.jpg', '0.1004.jpg']);
    expect(compareFrameNames('1.37.jpg', '2.5.jpg')).toBeLessThan(0);
    expect(compareFrameNames('0.05.jpg', '0.5.jpg')).not.toBe(0); // equal numbers, different padding: still a strict order
  });

  it('caps frames per video at k evenly spaced frames ⌊(2i+1)n/(2k)⌋, the same on every load', () => {
    // By hand: n = 10, k = 3 → ⌊10/6⌋, ⌊30/6⌋, ⌊50/6⌋ = 1, 5, 8; n = 5, k = 1 → ⌊5/2⌋ = 2; n = 4, k = 2 → 1, 3.
    expect(evenlySpacedFrames(10, 3)).toEqual([1, 5, 8]);
    expect(evenlySpacedFrames(5, 1)).toEqual([2]);
    expect(evenlySpacedFrames(4, 2)).toEqual([1, 3]);
    expect(evenlySpacedFrames(3, 7)).toEqual([0, 1, 2]);
    expect(evenlySpacedFrames(3, null)).toEqual([0, 1, 2]);
    expect(() => evenlySpacedFrames(3, 0)).toThrow(/positive integer/);

    const f = fixture({ framesPerVideo: 4 });
    const k = 2;
    const d = loadYtf(f.root, { maxFramesPerVideo: k });
    expect(d.maxFramesPerVideo).toBe(k);
    for (const fv of f.videos.filter((v) => v.paired)) {
      const v = d.videos.get(fv.id)!;
      const n = fv.frames.length;
      expect(n).toBeGreaterThan(k);
      const picks = [Math.floor(n / 4), Math.floor((3 * n) / 4)];
      expect(v.totalFrames).toBe(n);
      expect(v.frames.map((fr) => fr.index)).toEqual(picks);
      expect(v.frames.map((fr) => fr.rel)).toEqual(picks.map((i) => `${fv.id}/${fv.frames[i].name}`));
      expect(v.frames.every((fr) => fr.geometry !== null)).toBe(true);
    }
    const again = loadYtf(f.root, { maxFramesPerVideo: k });
    expect([...again.videos.values()].map((v) => v.frames.map((fr) => fr.rel))).toEqual([...d.videos.values()].map((v) => v.frames.map((fr) => fr.rel)));
    expect(() => loadYtf(f.root, { maxFramesPerVideo: 1.5 })).toThrow(/positive integer/);
  });

  it("geometry 'none' does not read the box files", () => {
    const f = fixture();
    for (const p of f.persons) unlinkSync(join(framesDir(f), `${p}.labeled_faces.txt`));
    const d: YtfDataset = loadYtf(f.root, { geometry: 'none' });
    expect([...d.videos.values()].every((v) => v.frames.every((fr) => fr.geometry === null))).toBe(true);
    expect(dataError(() => loadYtf(f.root)).file).toBe(join(framesDir(f), `${f.pairs[0].a.split('/')[0]}.labeled_faces.txt`));
  });

  it('takes a splits file elsewhere and checks the distributed pair count on request', () => {
    const f = fixture();
    const other = join(f.dir, 'my-splits.txt');
    writeFileSync(other, readFileSync(splitsPath(f)));
    unlinkSync(splitsPath(f));
    expect(dataError(() => loadYtf(f.root)).file).toBe(splitsPath(f));
    expect(loadYtf(f.root, { splitsFile: other }).splitsFile).toBe(other);
    const e = dataError(() => loadYtf(f.root, { splitsFile: other, pairsPerSplit: YTF_PAIRS_PER_SPLIT }));
    expect([e.file, e.line]).toEqual([other, 2]);
    expect(e.reason).toMatch(/split 1 has 2 pairs, expected 500/);
    expect(loadYtf(f.root, { splitsFile: other, pairsPerSplit: 2 }).pairs).toHaveLength(20);
  });
});

describe('parseYtfSplits', () => {
  const file = '/x/splits.txt';

  it('trims spaces and tabs around fields, takes CRLF and a missing final newline', () => {
    const f = fixture();
    const plain = parseYtfSplits(f.splitsLines.join('\n') + '\n', file);
    const spaced = f.splitsLines.map((l, i) => (i === 0 ? l : l.split(', ').map((x) => `\t ${x}  `).join(',')));
    for (const text of [f.splitsLines.join('\r\n') + '\r\n', f.splitsLines.join('\n'), spaced.join('\n') + '\n', f.splitsLines.map((l, i) => (i === 0 ? l : l.replace(/, /g, ','))).join('\n')]) {
      expect(parseYtfSplits(text, file)).toEqual(plain);
    }
    expect(plain.pairs).toHaveLength(20);
    expect(plain.pairs.filter((p) => p.same)).toHaveLength(10);
    // Every split's pairs: the split numbers as written.
    for (let s = 1; s <= 10; s++) expect(plain.pairs.filter((p) => p.split === s).map((p) => p.line)).toEqual([2 * s, 2 * s + 1]);
  });

  it('keeps the second field as read without checking it', () => {
    const f = fixture();
    const lines = f.splitsLines.map((l, i) => (i === 3 ? l.replace(/^(\d+), \d+,/, '$1, 4711,') : l));
    expect(parseYtfSplits(lines.join('\n'), file).pairs[2].pairNumber).toBe(4711);
  });

  const cases: [string, (l: string) => string, RegExp][] = [
    ['six fields (name and video label apart)', (l) => l.replace(/, (\S+)\/(\d+), /, ', $1, $2, '), /expected 5 comma-separated fields.*got 6/],
    ['four fields', (l) => l.replace(/, \d$/, ''), /expected 5 comma-separated fields.*got 4/],
    ['split 0', (l) => l.replace(/^\d+,/, '0,'), /split number 0 is out of range 1…10/],
    ['split 11', (l) => l.replace(/^\d+,/, '11,'), /split number 11 is out of range 1…10/],
    ['a split that is not a number', (l) => l.replace(/^\d+,/, 'two,'), /split number \(field 1\) is not an integer/],
    ['a second field that is not a number', (l) => l.replace(/^(\d+), \d+,/, '$1, x,'), /field 2 is not an integer/],
    ['a video without its number', (l) => l.replace(/\/\d+, /, ', '), /first video \(field 3\) is not Name\/video#/],
    ['a video number that is not a number', (l) => { const v = l.split(', '); v[3] = v[3].replace(/\d+$/, 'x'); return v.join(', '); }, /second video \(field 4\) is not Name\/video#/],
    ['a same flag of 2', (l) => l.replace(/\d$/, '2'), /same flag \(field 5\) must be 1 or 0, got "2"/],
    ['an empty line', () => '', /empty line/],
  ];
  for (const [what, edit, message] of cases) {
    it(`names file and line for ${what}`, () => {
      const f = fixture();
      for (const k of [1, 7, 20]) {
        const lines = [...f.splitsLines];
        lines[k] = edit(lines[k]);
        expect(lines[k]).not.toBe(f.splitsLines[k]);
        const e = dataError(() => parseYtfSplits(lines.join('\n') + '\n', file));
        expect([e.file, e.line]).toEqual([file, k + 1]);
        expect(e.reason).toMatch(message);
        expect(e.message).toContain(`${file}:${k + 1}:`);
      }
    });
  }

  it('names file and line for pairs that contradict their flag or pair a video with itself', () => {
    const f = fixture();
    const sameLine = lineOf(f.splitsLines, (l) => l.endsWith(', 1'));
    const diffLine = lineOf(f.splitsLines, (l) => l.endsWith(', 0'));
    const edits: [number, (l: string) => string, RegExp][] = [
      [sameLine, (l) => l.replace(/, 1$/, ', 0'), /marked different people \(0\) but both videos are/],
      [diffLine, (l) => l.replace(/, 0$/, ', 1'), /marked same person \(1\) but the names differ/],
      [sameLine, (l) => { const v = l.split(', '); v[3] = v[2]; return v.join(', '); }, /pair of a video with itself/],
    ];
    for (const [line, edit, message] of edits) {
      const lines = [...f.splitsLines];
      lines[line - 1] = edit(lines[line - 1]);
      const e = dataError(() => parseYtfSplits(lines.join('\n'), file));
      expect([e.file, e.line, e.reason]).toEqual([file, line, expect.stringMatching(message)]);
    }
  });

  it('requires the header line', () => {
    const f = fixture();
    const e = dataError(() => parseYtfSplits(f.splitsLines.slice(1).join('\n'), file));
    expect([e.file, e.line]).toEqual([file, 1]);
    expect(e.reason).toMatch(/header/);
    expect(dataError(() => parseYtfSplits('', file)).line).toBe(1);
    // A header alone: no pairs, so split 1 is missing.
    expect(dataError(() => parseYtfSplits(`${FIXTURE_SPLITS_HEADER}\n`, file)).reason).toMatch(/split 1 has no pairs/);
  });

  it('requires all ten splits with equal counts, naming the split that is off', () => {
    const f = fixture({ samePerSplit: 2 });
    // One pair of split 3 removed: split 3 (4 pairs elsewhere, 3 here) is named at its first line.
    const dropped = f.splitsLines.filter((_, i) => i !== lineOf(f.splitsLines, (l) => l.startsWith('3, 2,')) - 1);
    const e1 = dataError(() => parseYtfSplits(dropped.join('\n'), file));
    expect([e1.file, e1.line]).toEqual([file, lineOf(dropped, (l) => l.startsWith('3, '))]);
    expect(e1.reason).toMatch(/split 3 has 3 pairs, the other splits have 4/);
    // A pair moved from split 5 to split 6 (split numbers out of order are fine, counts are not).
    const moved = f.splitsLines.map((l) => (l.startsWith('5, 4,') ? l.replace(/^5,/, '6,') : l));
    const e2 = dataError(() => parseYtfSplits(moved.join('\n'), file));
    expect([e2.line, e2.reason]).toEqual([lineOf(moved, (l) => l.startsWith('5, ')), expect.stringMatching(/split 5 has 3 pairs/)]);
    // Split 10 missing: named at the last line.
    const short = f.splitsLines.filter((l) => !l.startsWith('10, '));
    const e3 = dataError(() => parseYtfSplits(short.join('\n') + '\n', file));
    expect([e3.line, e3.reason]).toEqual([short.length, expect.stringMatching(/split 10 has no pairs/)]);
    // Reordered lines are fine.
    const shuffled = [f.splitsLines[0], ...f.splitsLines.slice(1).reverse()];
    expect(parseYtfSplits(shuffled.join('\n'), file).pairs).toHaveLength(40);
  });
});

describe('parseYtfLabeledFaces', () => {
  const file = '/x/frame_images_DB/Jane_Doe.labeled_faces.txt';

  it("reads data-formats.md's example line: centre (240, 150), size 110×110 → crop 185…295 × 95…205", () => {
    const m = parseYtfLabeledFaces('Jane_Doe\\1\\1.37.jpg,0,240,150,110,110,0.0,1\r\n', file, 'Jane_Doe');
    expect([...m.keys()]).toEqual(['Jane_Doe/1/1.37.jpg']);
    const g = m.get('Jane_Doe/1/1.37.jpg')!;
    expect(g).toMatchObject({ centerX: 240, centerY: 150, width: 110, height: 110, left: 185, top: 95, right: 295, bottom: 205, line: 1, file });
    expect(g.columns).toEqual(['Jane_Doe\\1\\1.37.jpg', '0', '240', '150', '110', '110', '0.0', '1']);
    expect(parseYtfLabeledFaces('', file, 'Jane_Doe').size).toBe(0);
  });

  const ok = 'Jane_Doe\\1\\1.37.jpg,0,240,150,110,110,0.0,1';
  const bad: [string, string, RegExp][] = [
    ['five fields', 'Jane_Doe\\1\\1.38.jpg,0,240,150,110', /at least 6 comma-separated fields/],
    ['a path of two parts', 'Jane_Doe\\1.38.jpg,0,240,150,110,110,0.0,1', /not Name\\video#\\frame/],
    ['a video that is not a number', 'Jane_Doe\\a\\1.38.jpg,0,240,150,110,110,0.0,1', /not Name\\video#\\frame/],
    ["another person's frame", 'John_Doe\\1\\1.38.jpg,0,240,150,110,110,0.0,1', /is not Jane_Doe's/],
    ['a float coordinate', 'Jane_Doe\\1\\1.38.jpg,0,240.5,150,110,110,0.0,1', /field 3 is not an integer/],
    ['a zero width', 'Jane_Doe\\1\\1.38.jpg,0,240,150,0,110,0.0,1', /face size 0x110 is not positive/],
    ['a duplicate frame', ok, /listed twice \(first on line 1\)/],
    ['an empty line', '', /empty line/],
  ];
  for (const [what, line, message] of bad) {
    it(`names file and line for ${what}`, () => {
      const e = dataError(() => parseYtfLabeledFaces(`${ok}\n${line}\nJane_Doe\\1\\1.39.jpg,0,1,1,1,1,0.0,1\n`, file, 'Jane_Doe'));
      expect([e.file, e.line]).toEqual([file, 2]);
      expect(e.reason).toMatch(message);
    });
  }
});

describe('loadYtf errors name the file and line', () => {
  it('a video folder that is missing or has no frame: splits.txt at the first line naming it', () => {
    const f = fixture();
    const victim = f.pairs.find((p) => !p.same)!.b;
    const first = lineOf(f.splitsLines, (l) => l.split(', ').slice(2, 4).includes(victim));
    const dir = join(framesDir(f), victim);
    rmSync(dir, { recursive: true });
    let e = dataError(() => loadYtf(f.root));
    expect([e.file, e.line]).toEqual([splitsPath(f), first]);
    expect(e.reason).toContain(`video folder ${dir} not found`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not a frame');
    e = dataError(() => loadYtf(f.root));
    expect([e.file, e.line, e.reason]).toEqual([splitsPath(f), first, expect.stringContaining('holds no .jpg frame')]);
  });

  it('no frame_images_DB folder, or a bad splits line', () => {
    const f = fixture();
    const lines = [...f.splitsLines];
    lines[5] = lines[5].replace(/^\d+,/, '12,');
    writeSplits(f, lines);
    expect([dataError(() => loadYtf(f.root)).file, dataError(() => loadYtf(f.root)).line]).toEqual([splitsPath(f), 6]);
    writeSplits(f, f.splitsLines, '\r\n');
    expect(loadYtf(f.root).pairs).toHaveLength(20);
    rmSync(framesDir(f), { recursive: true });
    expect(dataError(() => loadYtf(f.root)).file).toBe(framesDir(f));
  });

  it('a bad line in a box file, a box for a frame not on disk, a frame without a box', () => {
    const f = fixture();
    const person = f.persons[2];
    const boxFile = join(framesDir(f), `${person}.labeled_faces.txt`);
    const lines = f.boxLines.get(person)!;

    writeFileSync(boxFile, [...lines.slice(0, 2), lines[2].replace(/,0\.0,1$/, ',x,y').replace(/^([^,]+,\d+,)\d+/, '$1ten'), ...lines.slice(3)].join('\n'));
    let e = dataError(() => loadYtf(f.root));
    expect([e.file, e.line, e.reason]).toEqual([boxFile, 3, expect.stringMatching(/field 3 is not an integer/)]);

    writeFileSync(boxFile, lines.join('\n') + '\n');
    const video = f.videos.find((v) => v.person === person && v.video === '1')!;
    const gone = video.frames[1];
    unlinkSync(join(framesDir(f), video.id, gone.name));
    e = dataError(() => loadYtf(f.root));
    expect([e.file, e.line]).toEqual([boxFile, lines.findIndex((l) => l.startsWith(`${person}\\1\\${gone.name},`)) + 1]);
    expect(e.reason).toMatch(/face box for a frame that is not on disk/);

    writeFileSync(join(framesDir(f), video.id, gone.name), tinyJpeg(99));
    const extra = join(framesDir(f), video.id, '1.5000.jpg');
    writeFileSync(extra, tinyJpeg(100));
    e = dataError(() => loadYtf(f.root));
    expect(e.file).toBe(extra);
    expect(e.reason).toContain(`no line in ${boxFile}`);
    appendFileSync(boxFile, `${person}\\1\\1.5000.jpg,0,12,14,16,16,0.0,1\n`);
    expect(loadYtf(f.root).videos.get(video.id)!.frames.at(-1)!.rel).toBe(`${video.id}/1.5000.jpg`);
  });

  it("lines for a video no pair names are checked for form only", () => {
    const f = fixture();
    const person = f.persons[0];
    const boxFile = join(framesDir(f), `${person}.labeled_faces.txt`);
    // Video 2 is not paired: a box for one of its frames that is not on disk is not an error…
    appendFileSync(boxFile, `${person}\\2\\2.77777.jpg,0,12,14,16,16,0.0,1\n`);
    expect(loadYtf(f.root).videos.has(`${person}/2`)).toBe(false);
    // …but a malformed line is.
    appendFileSync(boxFile, `${person}\\2\\2.88888.jpg,0,12,14\n`);
    const e = dataError(() => loadYtf(f.root));
    expect([e.file, e.line]).toEqual([boxFile, f.boxLines.get(person)!.length + 2]);
  });
});
