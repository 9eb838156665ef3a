import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '@sphereface/common';
import { buildCropStore, type CropStore } from '../crop-store';
import { DataError } from '../errors';
import { loadTrainingSet, type TrainingSet, ZipReader } from './index';
import { casiaFixture, type Fixture, sphereFaceLines, writeZip } from './test-fixtures';

const made: string[] = [];
const open: Array<TrainingSet | CropStore> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The CASIA-style fixture, its SphereFace landmark file, and a zip of the tree (with or without its top folder). */
function zippedFixture(method: 0 | 8, withTop: boolean): { f: Fixture; lm: string; zip: string } {
  const f = casiaFixture();
  made.push(f.dir);
  const lm = join(f.dir, 'casia_landmark.txt');
  writeFileSync(lm, sphereFaceLines(f).join('\n') + '\n');
  const zip = join(f.dir, 'casia.zip');
  const entries: [string, Buffer][] = f.images.map((im) => [`${withTop ? `${f.top}/` : ''}${im.rel}`, readFileSync(join(f.root, im.rel))]);
  writeZip(zip, [[withTop ? `${f.top}/` : 'readme/', Buffer.alloc(0)], ...entries], method);
  return { f, lm, zip };
}

function load(path: string, lm: string, cacheDir: string): TrainingSet {
  const s = loadTrainingSet(path, { landmarks: { file: lm }, hashCacheFile: join(cacheDir, `hashes-${open.length}.json`) });
  open.push(s);
  return s;
}

async function build(...args: Parameters<typeof buildCropStore>): Promise<CropStore> {
  const store = await buildCropStore(...args);
  open.push(store);
  return store;
}

describe('crops of a zipped training set, read in place through the crop store', () => {
  it.each([
    { name: 'deflated, under a top folder, on 2 worker threads', method: 8 as const, withTop: true, workers: 2 },
    { name: 'stored, at the top, on this thread', method: 0 as const, withTop: false, workers: 0 },
  ])('zip entries ($name) give the crop bytes of the extracted tree', async ({ method, withTop, workers }) => {
    const { f, lm, zip } = zippedFixture(method, withTop);
    const tree = load(f.root, lm, f.dir);
    const set = load(zip, lm, f.dir);
    expect(set.source).toMatchObject({ kind: 'zip', path: zip, prefix: withTop ? 'CASIA-WebFace/' : '' });
    expect(set.imageDir).toBe(zip);
    // loadTrainingSet hashes every entry: the items carry the sha256 the store key and its check need.
    expect(set.items.map((it) => it.sha256)).toEqual(f.images.map((im) => sha256Hex(readFileSync(join(f.root, im.rel)))));
    const [treeDir, dir] = [mkdtempSync(join(tmpdir(), 'sf-zs-')), mkdtempSync(join(tmpdir(), 'sf-zs-'))];
    made.push(treeDir, dir);
    const fromTree = await build(tree.imageDir, tree.items, { dir: treeDir, workers: 0 });
    const fromZip = await build(set.imageDir, set.items, { dir, zip: { prefix: set.source.prefix }, workers });
    expect([fromZip.status, fromZip.count, fromZip.skipped]).toEqual(['miss', 10, []]);
    expect(fromZip.key).toBe(fromTree.key); // the key is the content's, not the path's
    expect(Buffer.compare(Buffer.from(fromZip.readRange(0, 10)), Buffer.from(fromTree.readRange(0, 10)))).toBe(0);
    const again = await build(set.imageDir, set.items, { dir, zip: { prefix: set.source.prefix }, workers });
    expect(again.status).toBe('hit');
  }, 60_000); // a worker compiles the sources on start (~2 s)

  it('a CRC-damaged entry is a DataError naming <zip>!/<entry>, even under onBad skip, and leaves no store', async () => {
    const { f, lm, zip } = zippedFixture(0, true); // stored: a flipped byte reaches the CRC check, not the inflater
    const set = load(zip, lm, f.dir); // listed and hashed while intact
    const entry = 'CASIA-WebFace/0000045/002.jpg';
    const z = new ZipReader(zip);
    const e = z.entries.get(entry)!;
    z.close();
    const bytes = readFileSync(zip);
    bytes[e.localOffset + 30 + e.name.length + 100] ^= 0xff;
    writeFileSync(zip, bytes);
    const dir = mkdtempSync(join(tmpdir(), 'sf-zs-'));
    made.push(dir);
    for (const onBad of ['throw', 'skip'] as const) {
      const err = await buildCropStore(set.imageDir, set.items, { dir, zip: { prefix: set.source.prefix }, workers: 2, onBad }).then(() => null, (x: unknown) => x);
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).file).toBe(`${zip}!/${entry}`);
      expect((err as DataError).message).toMatch(new RegExp(`^${zip.replace(/[.]/g, '\\.')}!/${entry}: could not be read \\(CRC-32 mismatch\\)`));
    }
    const [folder] = readdirSync(dir);
    expect(existsSync(join(dir, folder, 'store.json'))).toBe(false);
  }, 60_000);
});
