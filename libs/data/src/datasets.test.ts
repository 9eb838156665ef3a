import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALIGN, defineTemplate, INSIGHTFACE_TEMPLATE, SPHEREFACE_TEMPLATE } from './align';
import { datasetViewHash, loadAttFaces, loadCelebaSubset, parseKnownDuplicates, splitByIdentity } from './datasets';
import { datasetDir, KNOWN_FILES } from './paths';
import { readManifest } from './manifest';
import { dataRoot, fixedView, haveDataset } from './test-data';

describe('known duplicates', () => {
  it('drops the fewest identities covering every cross-identity duplicate, and second copies within one', () => {
    const tsv = ['sha256\timage_a\timage_b\tsame_identity', 'h1\t1/a\t2/b\tno', 'h2\t2/c\t3/d\tno', 'h3\t4/e\t4/f\tyes', 'h4\t5/g\t6/h\tno'].join('\n');
    expect(parseKnownDuplicates(tsv, 'd.tsv')).toEqual({ identities: ['2', '5'], files: ['4/f'] });
    expect(() => parseKnownDuplicates('h\nx\ty\n', 'd.tsv')).toThrow(/d\.tsv:2: expected sha256/);
  });
});

describe('view hash and alignment template', () => {
  const ds = fixedView();
  const size = { height: 112, width: 96, allowReflection: true };

  it('is unchanged for the default template (pinned: computed before templates were named, commit aefcf6e)', () => {
    const pinned = '439155f430c4516ac5c8b645f6118cba8321d348f705ad748b5e9718579587b2';
    expect(datasetViewHash(ds, DEFAULT_ALIGN)).toBe(pinned);
    expect(datasetViewHash(ds, size)).toBe(pinned); // what the runner passed before
    expect(datasetViewHash(ds, { ...size, template: 'sphereface-96x112' })).toBe(pinned);
    expect(datasetViewHash(ds, { ...size, template: SPHEREFACE_TEMPLATE })).toBe(pinned);
    expect(datasetViewHash(ds, { height: 56, width: 48, allowReflection: true, template: 'sphereface-96x112' })).toBe(
      '60c7c4c0966ff6f422e56e3b6fcb525ba66710d7c9c52119911ffe99dd6a31ed', // the cpu profile's crop size
    );
  });

  it('changes with the template, its points and its name', () => {
    const user = defineTemplate({ name: 'mine', width: 96, height: 112, points: SPHEREFACE_TEMPLATE.points.map(([x, y]) => [x, y + 2]) });
    const hashes = [
      datasetViewHash(ds, size),
      datasetViewHash(ds, { ...size, template: 'insightface-112x112' }),
      datasetViewHash(ds, { ...size, template: user }),
      datasetViewHash(ds, { ...size, template: { ...user, name: 'mine-2' } }),
      datasetViewHash(ds, { ...size, template: { ...user, points: [...user.points.slice(0, 4), [61.7, 93.3]] } }),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(datasetViewHash(ds, { ...size, template: INSIGHTFACE_TEMPLATE })).toBe(hashes[1]);
  });
});

describe.skipIf(!haveDataset('celeba_subset'))('celeba_subset on the shared data', () => {
  const all = loadCelebaSubset({ dataRoot, dropKnownDuplicates: false });

  it('has 6074 images of 299 identities, all with landmarks', () => {
    expect([all.items.length, all.identities.length, all.skipped.length]).toEqual([6074, 299, 0]);
    expect(all.items.every((it) => it.landmarks?.length === 5 && it.sha256?.length === 64)).toBe(true);
    const m = readManifest(datasetDir('celeba_subset', dataRoot));
    for (const [f, h] of Object.entries(KNOWN_FILES.celeba_subset)) expect(m.get(f), f).toBe(h);
  });

  it('drops identity 07312 and second copies of same-identity duplicates; filters by images per identity', () => {
    const dir = datasetDir('celeba_subset', dataRoot);
    const dup = parseKnownDuplicates(readFileSync(join(dir, 'known_duplicates.tsv'), 'utf8'), 'known_duplicates.tsv');
    expect(dup).toEqual({ identities: ['07312'], files: ['07287/048009.jpg', '07246/194317.jpg'] });
    const clean = loadCelebaSubset({ dataRoot });
    const n07312 = all.items.filter((it) => it.identity === '07312').length;
    expect(clean.identities).not.toContain('07312');
    expect(clean.items.length).toBe(6074 - n07312 - 2);
    const min10 = loadCelebaSubset({ dataRoot, minImagesPerIdentity: 10 });
    const counts = new Map<string, number>();
    for (const it of min10.items) counts.set(it.identity, (counts.get(it.identity) ?? 0) + 1);
    expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(10);
    // README: ≥10 images: 250 ids before dropping duplicates
    expect(loadCelebaSubset({ dataRoot, minImagesPerIdentity: 10, dropKnownDuplicates: false }).identities.length).toBe(250);
    expect(min10.items.map((it) => it.label)).toEqual(min10.items.map((it) => min10.identities.indexOf(it.identity)));
  });

  it('splits identity-disjoint, reproducibly, with labels renumbered', () => {
    const ds = loadCelebaSubset({ dataRoot, minImagesPerIdentity: 5 });
    const { train, test } = splitByIdentity(ds, { fraction: 0.1, seed: 42 });
    expect(test.identities.length).toBe(Math.round(0.1 * ds.identities.length));
    expect(train.identities.length + test.identities.length).toBe(ds.identities.length);
    expect(train.identities.filter((id) => test.identities.includes(id))).toEqual([]);
    expect(train.items.length + test.items.length).toBe(ds.items.length);
    expect(Math.max(...test.items.map((it) => it.label))).toBe(test.identities.length - 1);
    expect(splitByIdentity(ds, { fraction: 0.1, seed: 42 }).test.identities).toEqual(test.identities);
    expect(splitByIdentity(ds, { fraction: 0.1, seed: 43 }).test.identities).not.toEqual(test.identities);
  });

  it('has a stable view hash that changes with filter, landmarks and alignment', () => {
    const a = loadCelebaSubset({ dataRoot, minImagesPerIdentity: 10 });
    const h = datasetViewHash(a, DEFAULT_ALIGN);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(datasetViewHash(loadCelebaSubset({ dataRoot, minImagesPerIdentity: 10 }), DEFAULT_ALIGN)).toBe(h);
    expect(datasetViewHash(loadCelebaSubset({ dataRoot, minImagesPerIdentity: 11 }), DEFAULT_ALIGN)).not.toBe(h);
    expect(datasetViewHash(a, { ...DEFAULT_ALIGN, height: 56, width: 48 })).not.toBe(h);
    const moved = { ...a, items: a.items.map((it, i) => (i === 0 ? { ...it, landmarks: it.landmarks!.map(([x, y]) => [x + 0.1, y] as const) } : it)) };
    expect(datasetViewHash(moved, DEFAULT_ALIGN)).not.toBe(h);
  });
});

describe.skipIf(!haveDataset('att_faces'))('att_faces on the shared data', () => {
  it('has 40 subjects × 10 images in numeric order, no landmarks', () => {
    const ds = loadAttFaces({ dataRoot });
    expect([ds.identities.length, ds.items.length]).toEqual([40, 400]);
    expect(ds.identities.slice(0, 3)).toEqual(['s1', 's2', 's3']);
    expect(ds.items.slice(0, 3).map((i) => i.rel)).toEqual(['s1/1.pgm', 's1/2.pgm', 's1/3.pgm']);
    expect(ds.items.every((i) => i.landmarks === null && i.sha256)).toBe(true);
  });
});
