import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALIGN, defineTemplate, INSIGHTFACE_TEMPLATE, SPHEREFACE_TEMPLATE, TemplateError } from './align';
import { CropBatchProvider } from './batches';
import { cropCacheKey, loadCrops } from './crop-cache';
import { buildCropStore, DEFAULT_SHARD_SIZE } from './crop-store';
import { loadAttFaces } from './datasets';
import { sha256Hex } from '@sphereface/common';
import { cropImage } from './process';
import { dataRoot, haveDataset } from './test-data';
import { generateFaces } from './test-images';
import { CropPool } from './worker-pool';

const faces = generateFaces(12);
const newDir = () => mkdtempSync(join(tmpdir(), 'sf-crops-'));
const CROP = 112 * 96 * 3;
/** The shard files of a store folder, each with its inode (a rewritten shard is a new file: written aside, renamed). */
const shardFiles = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => f.startsWith('shard-')).sort().map((f) => [f, statSync(join(dir, f)).ino]));

describe('aligned-crop cache', () => {
  it('misses, then hits with identical bytes', async () => {
    const dir = newDir();
    const a = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0 });
    expect([a.status, a.data.length, a.kept.length]).toEqual(['miss', 12 * 112 * 96 * 3, 12]);
    const b = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0 });
    expect(b.status).toBe('hit');
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
    expect(a.data.subarray(0, 112 * 96 * 3)).toEqual(cropImage({ path: join(faces.imageDir, faces.items[0].rel), landmarks: faces.items[0].landmarks }));
  });

  it('keys on image content, landmarks, size and reflection setting, not on paths', () => {
    const key = cropCacheKey(faces.imageDir, faces.items, DEFAULT_ALIGN);
    const moved = faces.items.map((it, i) => (i === 3 ? { ...it, landmarks: it.landmarks.map(([x, y]) => [x, y + 0.01] as const) } : it));
    expect(cropCacheKey(faces.imageDir, moved, DEFAULT_ALIGN)).not.toBe(key);
    expect(cropCacheKey(faces.imageDir, faces.items, { ...DEFAULT_ALIGN, height: 56, width: 48 })).not.toBe(key);
    expect(cropCacheKey(faces.imageDir, faces.items, { ...DEFAULT_ALIGN, allowReflection: false })).not.toBe(key);
    expect(cropCacheKey(faces.imageDir, faces.items.slice().reverse(), DEFAULT_ALIGN)).not.toBe(key);
    const other = generateFaces(12); // same pixels, another folder
    expect(cropCacheKey(other.imageDir, other.items, DEFAULT_ALIGN)).toBe(key);
  });

  it('detects a corrupt or truncated shard and rebuilds that shard only', async () => {
    const dir = newDir();
    const good = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect(good.status).toBe('miss');
    const built = shardFiles(good.dir);
    expect(Object.keys(built)).toEqual(['shard-000000.bin', 'shard-000001.bin', 'shard-000002.bin']); // 5 + 5 + 2 images
    const shard1 = join(good.dir, 'shard-000001.bin');
    const bytes = readFileSync(shard1);
    bytes[bytes.length - 1000] ^= 0xff; // one pixel bit-flipped
    writeFileSync(shard1, bytes);
    const r1 = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect([r1.status, r1.corruption]).toEqual(['rebuilt', 'shard-000001.bin: checksum mismatch']);
    expect(Buffer.compare(Buffer.from(r1.data), Buffer.from(good.data))).toBe(0);
    const after1 = shardFiles(good.dir);
    expect([after1['shard-000000.bin'], after1['shard-000002.bin']]).toEqual([built['shard-000000.bin'], built['shard-000002.bin']]); // not rewritten
    expect(after1['shard-000001.bin']).not.toBe(built['shard-000001.bin']);
    truncateSync(join(good.dir, 'shard-000002.bin'), 20);
    const r2 = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect([r2.status, r2.corruption]).toEqual(['rebuilt', 'shard-000002.bin: bad magic or too short']);
    expect(Buffer.compare(Buffer.from(r2.data), Buffer.from(good.data))).toBe(0);
    const after2 = shardFiles(good.dir);
    expect([after2['shard-000000.bin'], after2['shard-000001.bin']]).toEqual([after1['shard-000000.bin'], after1['shard-000001.bin']]);
    const hit = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect([hit.status, hit.corruption]).toEqual(['hit', undefined]);
    expect(shardFiles(good.dir)).toEqual(after2);
  });

  it('a build killed after some shards resumes there: the shards written are kept, the bytes are the same', async () => {
    const dir = newDir();
    const whole = await loadCrops(faces.imageDir, faces.items, { dir: newDir(), workers: 0, shardSize: 5 });
    const first = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    // What a build killed after 2 of its 3 shards leaves: no store.json (written last), no third shard.
    rmSync(join(first.dir, 'store.json'));
    rmSync(join(first.dir, 'shard-000002.bin'));
    const kept = shardFiles(first.dir);
    const progress: object[] = [];
    const store = await buildCropStore(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5, onProgress: (p) => progress.push(p) });
    expect([store.status, store.problems, store.count]).toEqual(['resumed', [], 12]);
    expect(progress).toEqual([
      { shard: 1, shards: 3, built: 0, reused: 1, images: 5 },
      { shard: 2, shards: 3, built: 0, reused: 2, images: 10 },
      { shard: 3, shards: 3, built: 1, reused: 2, images: 12 },
    ]);
    expect(Buffer.compare(Buffer.from(store.readRange(0, store.count)), Buffer.from(whole.data))).toBe(0);
    store.close();
    const after = shardFiles(first.dir);
    expect([after['shard-000000.bin'], after['shard-000001.bin']]).toEqual([kept['shard-000000.bin'], kept['shard-000001.bin']]);
    expect(existsSync(join(first.dir, 'store.json'))).toBe(true);
    const again = await loadCrops(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect([again.status, again.key, again.dir]).toEqual(['hit', whole.key, first.dir]);
  });

  it('shardSize sets the images per shard: any size gives the same crops, read across shard boundaries', async () => {
    const dir = newDir();
    const one = await buildCropStore(faces.imageDir, faces.items, { dir, workers: 0 });
    expect(DEFAULT_SHARD_SIZE).toBeGreaterThan(12);
    expect(Object.keys(shardFiles(one.dir))).toEqual(['shard-000000.bin']);
    const bytes = one.readRange(0, 12);
    one.close();
    for (const shardSize of [1, 5, 12]) {
      const other = await buildCropStore(faces.imageDir, faces.items, { dir: newDir(), workers: 0, shardSize });
      expect([other.status, other.key, other.count]).toEqual(['miss', one.key, 12]);
      expect(Object.keys(shardFiles(other.dir))).toHaveLength(Math.ceil(12 / shardSize));
      expect(Buffer.compare(Buffer.from(other.readRange(0, 12)), Buffer.from(bytes))).toBe(0);
      expect(Buffer.compare(Buffer.from(other.readRange(4, 3)), Buffer.from(bytes.subarray(4 * CROP, 7 * CROP)))).toBe(0); // shards 0 and 1 of 5
      expect(Buffer.compare(Buffer.from(other.read(11)), Buffer.from(bytes.subarray(11 * CROP)))).toBe(0);
      expect(() => other.read(12)).toThrow(/crop 12 is outside \[0, 12\)/);
      other.close();
    }
    // The same folder with another shard size: laid out anew (not reported as damage), the old layout's extra shards removed.
    const relaid = await buildCropStore(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 5 });
    expect([relaid.status, relaid.problems]).toEqual(['miss', []]);
    expect(Object.keys(shardFiles(relaid.dir))).toEqual(['shard-000000.bin', 'shard-000001.bin', 'shard-000002.bin']);
    expect(Buffer.compare(Buffer.from(relaid.readRange(0, 12)), Buffer.from(bytes))).toBe(0);
    relaid.close();
    const back = await buildCropStore(faces.imageDir, faces.items, { dir, workers: 0 });
    expect([back.status, Object.keys(shardFiles(back.dir))]).toEqual(['miss', ['shard-000000.bin']]);
    back.close();
    await expect(buildCropStore(faces.imageDir, faces.items, { dir, workers: 0, shardSize: 0 })).rejects.toThrow(/shardSize must be a positive integer/);
  });

  it('keys on the bytes actually decoded: an image corrupted during a build, later restored, never poisons the cache', async () => {
    const own = generateFaces(4, 5);
    const items = own.items.map((it) => ({ ...it, sha256: sha256Hex(readFileSync(join(own.imageDir, it.rel))) })); // as from a manifest
    const pristine = await loadCrops(own.imageDir, items, { dir: newDir(), workers: 0 });
    const dir = newDir();
    const path = join(own.imageDir, items[2].rel);
    const original = readFileSync(path);
    const other = readFileSync(join(own.imageDir, items[0].rel)); // a valid JPEG: decodes, but is not the listed image
    writeFileSync(path, other);
    await expect(loadCrops(own.imageDir, items, { dir, workers: 0 })).rejects.toThrow(
      new RegExp(`${path}: the bytes read have sha256 ${sha256Hex(other)}, not the expected ${items[2].sha256}`),
    );
    await expect(loadCrops(own.imageDir, items, { dir, workers: 0, onBad: 'skip' })).rejects.toThrow(/the bytes read have sha256/);
    writeFileSync(path, original);
    const restored = await loadCrops(own.imageDir, items, { dir, workers: 0 });
    expect(restored.key).toBe(pristine.key);
    expect(Buffer.compare(Buffer.from(restored.data), Buffer.from(pristine.data))).toBe(0);
  });

  it('worker threads (under vitest) give the same bytes as the calling thread', async () => {
    const tasks = faces.items.map((it) => ({ path: join(faces.imageDir, it.rel), landmarks: it.landmarks }));
    const pool = new CropPool(2, 3);
    try {
      const viaWorkers = await pool.run(tasks, DEFAULT_ALIGN);
      const inline = await new CropPool(0).run(tasks, DEFAULT_ALIGN);
      const digest = (rs: typeof inline) => rs.map((r) => (r.ok ? sha256Hex(r.data) : r.skipped.reason));
      expect(digest(viaWorkers)).toEqual(digest(inline));
    } finally {
      await pool.close();
    }
  }, 60_000); // starting a worker compiles the TypeScript sources in it (~2 s)

  it('worker threads work under tsx too', () => {
    const script = join(mkdtempSync(join(tmpdir(), 'sf-tsx-')), 'pool.mts');
    const pool = fileURLToPath(new URL('./worker-pool.ts', import.meta.url));
    const align = fileURLToPath(new URL('./align.ts', import.meta.url));
    const task = { path: join(faces.imageDir, faces.items[0].rel), landmarks: faces.items[0].landmarks };
    writeFileSync(script, [
      `import { CropPool } from ${JSON.stringify(pool)};`,
      `import { DEFAULT_ALIGN } from ${JSON.stringify(align)};`,
      'const p = new CropPool(2);',
      `const r = await p.run([${JSON.stringify(task)}], DEFAULT_ALIGN);`,
      'await p.close();',
      "process.stdout.write(r[0].ok ? String(r[0].data.length) : 'bad');", // console.log colours under FORCE_COLOR
    ].join('\n'));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    expect(execFileSync(tsx, [script], { encoding: 'utf8' }).trim()).toBe(String(112 * 96 * 3));
  }, 60_000);

  it.skipIf(!haveDataset('att_faces'))('centre-crops grey PGM faces to RGB', async () => {
    const att = loadAttFaces({ dataRoot });
    const r = await loadCrops(att.imageDir, att.items.slice(0, 4), { dir: newDir(), workers: 0, align: { height: 56, width: 48 } });
    expect([r.data.length, r.height, r.width]).toEqual([4 * 56 * 48 * 3, 56, 48]);
    for (let i = 0; i < r.data.length; i += 3) expect(r.data[i + 1] === r.data[i] && r.data[i + 2] === r.data[i]).toBe(true);
  });

  const user = defineTemplate({ name: 'user-100x120', width: 100, height: 120, points: [[31, 49], [69, 49], [50, 71], [35, 94], [65, 94]] });

  it('keys on the template; the default template keeps the keys made before templates were named (pinned)', () => {
    // a fixed item list (image hashes given, as from a manifest: no file is read)
    const lm = (d: number) => [[30 + d, 50], [66, 51 + d], [48, 72], [34 + d, 92], [63, 92 - d]] as [number, number][];
    const items = ['a', 'b', 'c'].map((c, i) => ({ rel: `x/${i}.jpg`, sha256: c.repeat(64), landmarks: lm([0, 0.5, 1.25][i]) }));
    // computed with the code before templates were named (commit aefcf6e)
    const pinned = 'd8cf9bb9f3c72c17501780a112e01c15aa7110398a3cfc92c521c7cd49e9d772';
    const pinned56x48 = '3b8bf65d191b4607b61130e9a55675e72555ee975ac1861c6676e3fb81c0e2b2';
    expect(cropCacheKey('/nowhere', items, DEFAULT_ALIGN)).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, {})).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, { template: SPHEREFACE_TEMPLATE })).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, { height: 112, width: 96, allowReflection: true, template: 'sphereface-96x112' })).toBe(pinned);
    expect(cropCacheKey('/nowhere', items, { height: 56, width: 48 })).toBe(pinned56x48);
    const keys = [
      cropCacheKey('/nowhere', items, { template: 'insightface-112x112', height: 112, width: 96 }),
      cropCacheKey('/nowhere', items, { template: 'insightface-112x112' }),
      cropCacheKey('/nowhere', items, { height: 112, width: 112 }),
      cropCacheKey('/nowhere', items, { template: user, height: 112, width: 96 }),
      cropCacheKey('/nowhere', items, { template: { ...user, name: 'user-renamed' }, height: 112, width: 96 }),
      cropCacheKey('/nowhere', items, { template: { ...user, points: [[31, 49], [69, 49], [50, 71], [35, 94], [65, 94.5]] }, height: 112, width: 96 }),
    ];
    expect(new Set([pinned, ...keys]).size).toBe(keys.length + 1);
    // the name and the object of a built-in are one template
    expect(cropCacheKey('/nowhere', items, { template: INSIGHTFACE_TEMPLATE })).toBe(keys[1]);
    expect(() => cropCacheKey('/nowhere', items, { template: 'insightface' as never })).toThrow(TemplateError);
  });

  it('builds crops with any template on worker threads: the template travels to the workers', async () => {
    const items = faces.items.slice(0, 6);
    const inThread = (align: object) => items.map((it) => cropImage({ path: join(faces.imageDir, it.rel), landmarks: it.landmarks }, align));
    const dir = newDir();
    const cases = [
      { template: 'insightface-112x112' as const }, // 112×112, the template's size
      { height: 150, width: 150 }, // SphereFace, fitted and centred
      { template: user, height: 150, width: 150 }, // a user template object, structured-cloned to the workers
    ];
    const sets: Awaited<ReturnType<typeof loadCrops>>[] = [];
    for (const align of cases) {
      const set = await loadCrops(faces.imageDir, items, { dir, workers: 1, align });
      const { height, width } = { height: 112, width: 112, ...align };
      expect([set.status, set.height, set.width, set.data.length]).toEqual(['miss', height, width, 6 * height * width * 3]);
      expect(set.template.name).toBe(align.template === undefined ? 'sphereface-96x112' : typeof align.template === 'string' ? align.template : align.template.name);
      expect(Buffer.compare(Buffer.from(set.data), Buffer.concat(inThread(align)))).toBe(0);
      const hit = await loadCrops(faces.imageDir, items, { dir, workers: 0, align });
      expect([hit.status, hit.key, hit.template]).toEqual(['hit', set.key, set.template]);
      sets.push(set);
    }
    // different templates at one size give different crops and different files
    expect(Buffer.compare(Buffer.from(sets[1].data), Buffer.from(sets[2].data))).not.toBe(0);
    expect(new Set(sets.map((c) => c.dir)).size).toBe(3);
    // Training batches from the store (read on a worker thread): the same crops, normalised, with the template's size
    // as the default crop size. One class per crop, so a row's label names its crop.
    const store = await buildCropStore(faces.imageDir, items, { dir, workers: 0, align: { template: 'insightface-112x112' } });
    expect([store.status, store.height, store.width]).toEqual(['hit', 112, 112]);
    const provider = new CropBatchProvider(store, Int32Array.from(items, (_, i) => i), items.length, 1, { mirror: false, prefetch: 1 });
    const pool = new CropPool(1);
    try {
      const b = await provider.next(6);
      expect(b.images.shape).toEqual([6, 112, 112, 3]);
      const x = b.images.dataSync(), rows = b.labels.dataSync();
      expect(Array.from(rows).sort()).toEqual([0, 1, 2, 3, 4, 5]);
      const crop = 112 * 112 * 3;
      rows.forEach((i, n) => expect(Array.from(x.subarray(n * crop, (n + 1) * crop))).toEqual(Array.from(sets[0].data.subarray(i * crop, (i + 1) * crop), (v) => Math.fround((v - 127.5) / 128))));
      b.images.dispose(); b.labels.dispose();
      await expect(pool.run([{ path: join(faces.imageDir, items[0].rel), landmarks: items[0].landmarks }], { ...DEFAULT_ALIGN, template: { ...user, points: [] } })).rejects.toThrow(
        /crop worker failed: TemplateError: alignment template "user-100x120": needs 5 points/,
      );
    } finally {
      await pool.close();
      await provider.close();
      store.close();
    }
  }, 60_000);
});
