/**
 * Data-pipeline benchmark at training-set scale: crop-store build rate, streaming rate and peak memory.
 *
 *   npm run bench:data [-- --sizes 5000,20000] [--quick] [--dir <folder>] [--seed 1] [--gen-workers 2] [--keep-stores]
 *
 * 1. A synthetic identity-folder dataset (`<identity>/<image>.jpg` + a landmark file in the SphereFace TAB format
 *    `relpath\tlabel\tx1\ty1 … x5\ty5`, 1-based) is made OUTSIDE the repository, under $SPHEREFACE_BENCH_DIR or
 *    <os tmpdir>/sphereface-bench-data (or --dir): every image is a shipped CelebA crop (celeba_subset/images_150)
 *    put through a seeded random similarity transform (rotation ±30°, scale ×0.85–1.15 of the frame, translation
 *    ±8 %) into a 150–250 px frame, its 5 landmarks transformed with it, JPEG quality 90 (jpeg-js), so that
 *    decoding and alignment do real work. Image i depends only on (seed, i), so a dataset of N images holds the one
 *    of any M < N as its first M images: a complete dataset (COMPLETE.json: n, seed, version) at least as large as
 *    the largest size asked for is reused; an interrupted generation resumes.
 * 2. For each size N, two fresh child processes (maxRSS is a high-water mark, so the build's memory must not count
 *    as the stream's): the first loads the set (loadTrainingSet, hashes cached beside the dataset) and times
 *    buildCropStore from an empty folder, 2 workers, 112×96 (SphereFace template); the second opens the store and
 *    times CropBatchProvider.next(512) (awaited, tensors created and disposed, default prefetch) over one full epoch
 *    after a warm-up batch, with the RSS before streaming (baseline) and process.resourceUsage().maxRSS after it.
 * Output: progress on stderr, a table with the 1-minute load average at the start and end of each phase, and as the
 * last line one JSON object (buildImagesPerSec, streamImagesPerSec: the 20k run, else the largest size; peakRssMB5k,
 * peakRssMB20k: null when that size was not run; per-size figures under `sizes`). The machine is shared: rates
 * follow the load; images per CPU-second (all threads of the child) are printed too.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Mulberry32, writeFileAtomic } from '@sphereface/common';
import jpeg from 'jpeg-js';
import {
  type Affine,
  alignFace,
  applyAffine,
  buildCropStore,
  CropBatchProvider,
  type CropItem,
  CropStore,
  decodeImageFile,
  type Image,
  loadCelebaSubset,
  type Point,
  warpAffine,
} from '../src/index';
import { loadTrainingSet } from '../src/sources/index';
import { repoRoot } from '../src/paths';

const SCRIPT = fileURLToPath(import.meta.url);
/** Bump when the generator changes: datasets made by another version are not reused. */
const GEN_VERSION = 1;
const IMAGES_PER_IDENTITY = 20;
const CROP = { height: 112, width: 96 } as const;
const BATCH = 512;
const BUILD_WORKERS = 2;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '5000,20000' },
    quick: { type: 'boolean', default: false },
    dir: { type: 'string' },
    seed: { type: 'string', default: '1' },
    'gen-workers': { type: 'string', default: '2' },
    'keep-stores': { type: 'boolean', default: false },
    child: { type: 'string' },
    task: { type: 'string' },
  },
});

const mb = (bytes: number) => bytes / 2 ** 20;
const load1 = () => Number(loadavg()[0].toFixed(2));
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Synthetic dataset

interface Marker {
  version: number;
  n: number;
  seed: number;
  imagesPerIdentity: number;
  source: string;
  generatedAt: string;
}

interface DatasetPaths {
  folder: string;
  images: string;
  landmarks: string;
  sources: string;
  marker: string;
}

function datasetPaths(benchDir: string, n: number, seed: number): DatasetPaths {
  const folder = join(benchDir, 'datasets', `celeba-synthetic-v${GEN_VERSION}-n${n}-seed${seed}`);
  return { folder, images: join(folder, 'images'), landmarks: join(folder, 'landmarks.txt'), sources: join(folder, 'sources.tsv'), marker: join(folder, 'COMPLETE.json') };
}

function readMarker(path: string): Marker | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Marker;
  } catch {
    return null;
  }
}

/** A 32-bit seed for image i of the dataset with `seed` (a murmur3-style mix: images are independent of each other). */
function imageSeed(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

const identityName = (j: number) => `id${String(j).padStart(5, '0')}`;
const imageRel = (i: number) => `${identityName(Math.floor(i / IMAGES_PER_IDENTITY))}/${String(i % IMAGES_PER_IDENTITY).padStart(3, '0')}.jpg`;

interface SourceFace {
  rel: string;
  landmarks: Point[];
}

/** What image i is: its source face, frame size and source → image transform (no pixel work). */
function plan(i: number, seed: number, sourceIds: string[], byIdentity: Map<string, SourceFace[]>) {
  const rng = new Mulberry32(imageSeed(seed, i));
  const faces = byIdentity.get(sourceIds[Math.floor(i / IMAGES_PER_IDENTITY) % sourceIds.length])!;
  const face = faces[Math.floor(rng.next() * faces.length)];
  const side = 150 + Math.floor(rng.next() * 101);
  const width = side;
  const height = Math.min(250, Math.max(150, Math.round(side * (0.9 + 0.2 * rng.next()))));
  const theta = ((rng.next() * 2 - 1) * 30 * Math.PI) / 180;
  const scale = (Math.min(width, height) / 150) * (0.85 + 0.3 * rng.next());
  const cx = width / 2 + (rng.next() * 2 - 1) * 0.08 * width;
  const cy = height / 2 + (rng.next() * 2 - 1) * 0.08 * height;
  // The landmarks' centroid goes to (cx, cy): dst = s·R(θ)·(p − centroid) + (cx, cy).
  const mx = face.landmarks.reduce((s, p) => s + p[0], 0) / 5, my = face.landmarks.reduce((s, p) => s + p[1], 0) / 5;
  const a = scale * Math.cos(theta), b = -scale * Math.sin(theta), d = scale * Math.sin(theta), e = scale * Math.cos(theta);
  const m: Affine = [a, b, cx - a * mx - b * my, d, e, cy - d * mx - e * my];
  return { face, width, height, m, landmarks: face.landmarks.map((p) => applyAffine(m, p)), theta, scale };
}

/** Source faces grouped by identity (the shipped CelebA crops and their dlib landmarks, duplicates dropped). */
function celebaSources() {
  const celeba = loadCelebaSubset();
  const byIdentity = new Map<string, SourceFace[]>();
  for (const it of celeba.items) {
    const list = byIdentity.get(it.identity) ?? [];
    list.push({ rel: it.rel, landmarks: it.landmarks! });
    byIdentity.set(it.identity, list);
  }
  return { imageDir: celeba.imageDir, sourceIds: [...byIdentity.keys()], byIdentity };
}

interface GenChunk {
  first: number;
  end: number;
}
interface GenReply {
  first: number;
  /** Per image: the landmark line, the sources.tsv line. */
  lines: string[];
  sources: string[];
  written: number;
}

/** Generator child: images first … end−1 of each chunk it is sent; an image already on disk is not redone. */
function genChild(task: { images: string; seed: number }): void {
  const src = celebaSources();
  const decoded = new Map<string, Image>();
  process.on('message', (chunk: GenChunk) => {
    const lines: string[] = [], sources: string[] = [];
    let written = 0;
    for (let i = chunk.first; i < chunk.end; i++) {
      const p = plan(i, task.seed, src.sourceIds, src.byIdentity);
      const rel = imageRel(i);
      const path = join(task.images, rel);
      if (!existsSync(path)) {
        let img = decoded.get(p.face.rel);
        if (!img) {
          if (decoded.size > 64) decoded.clear();
          img = decodeImageFile(join(src.imageDir, p.face.rel));
          decoded.set(p.face.rel, img);
        }
        const { width, height, data } = warpAffine(img, p.m, { width: p.width, height: p.height });
        const rgba = Buffer.alloc(width * height * 4);
        for (let s = 0, t = 0; s < data.length; s += 3, t += 4) {
          rgba[t] = data[s];
          rgba[t + 1] = data[s + 1];
          rgba[t + 2] = data[s + 2];
          rgba[t + 3] = 255;
        }
        writeFileAtomic(path, jpeg.encode({ data: rgba, width, height }, 90).data);
        written++;
      }
      const label = Math.floor(i / IMAGES_PER_IDENTITY);
      // SphereFace files are 1-based (MATLAB): loadTrainingSet subtracts origin 1.
      lines.push([rel, String(label), ...p.landmarks.flatMap(([x, y]) => [(x + 1).toFixed(2), (y + 1).toFixed(2)])].join('\t'));
      sources.push([rel, p.face.rel, p.width, p.height, ((p.theta * 180) / Math.PI).toFixed(2), p.scale.toFixed(4), ...p.m.map((v) => v.toFixed(5))].join('\t'));
    }
    process.send!({ first: chunk.first, lines, sources, written } satisfies GenReply);
  });
  process.send!('ready');
}

async function ensureDataset(benchDir: string, need: number, seed: number, genWorkers: number): Promise<{ paths: DatasetPaths; marker: Marker; generated: boolean }> {
  const root = join(benchDir, 'datasets');
  mkdirSync(root, { recursive: true });
  // The smallest complete dataset of this generator and seed with at least `need` images.
  const found = readdirSync(root)
    .map((name) => readMarker(join(root, name, 'COMPLETE.json')))
    .filter((m): m is Marker => m !== null && m.version === GEN_VERSION && m.seed === seed && m.imagesPerIdentity === IMAGES_PER_IDENTITY && m.n >= need)
    .sort((a, b) => a.n - b.n)[0];
  if (found) return { paths: datasetPaths(benchDir, found.n, seed), marker: found, generated: false };

  const paths = datasetPaths(benchDir, need, seed);
  mkdirSync(paths.images, { recursive: true });
  const chunk = 100;
  const queue: GenChunk[] = [];
  for (let first = 0; first < need; first += chunk) queue.push({ first, end: Math.min(need, first + chunk) });
  const lines = new Array<string>(need), sources = new Array<string>(need);
  let done = 0, written = 0, lastPrint = 0;
  const t0 = performance.now();
  log(`generate: ${need} images into ${paths.folder} on ${genWorkers} processes (load ${load1()})`);
  await Promise.all(
    Array.from({ length: Math.max(1, genWorkers) }, () =>
      new Promise<void>((ok, fail) => {
        const child = fork(SCRIPT, ['--child', 'gen', '--task', JSON.stringify({ images: paths.images, seed })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const feed = () => {
          const next = queue.shift();
          if (next) child.send(next);
          else child.disconnect();
        };
        child.on('message', (m: GenReply | 'ready') => {
          if (m !== 'ready') {
            m.lines.forEach((l, k) => (lines[m.first + k] = l));
            m.sources.forEach((l, k) => (sources[m.first + k] = l));
            done += m.lines.length;
            written += m.written;
            const now = performance.now();
            if (now - lastPrint > 15000 || done === need) {
              lastPrint = now;
              const rate = (done * 1000) / (now - t0);
              log(`generate: ${done}/${need} (${((100 * done) / need).toFixed(0)}%), ${rate.toFixed(0)} img/s, ETA ${((need - done) / rate).toFixed(0)} s, load ${load1()}`);
            }
          }
          feed();
        });
        child.on('error', fail);
        child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`generator process exited with code ${code}`))));
      }),
    ),
  );
  if (done !== need) throw new Error(`generate: ${done} of ${need} images were made`);
  writeFileAtomic(paths.landmarks, `${lines.join('\n')}\n`);
  writeFileAtomic(paths.sources, `rel\tsource\twidth\theight\trotation_deg\tscale\tm0\tm1\tm2\tm3\tm4\tm5\n${sources.join('\n')}\n`);
  const marker: Marker = {
    version: GEN_VERSION,
    n: need,
    seed,
    imagesPerIdentity: IMAGES_PER_IDENTITY,
    source: 'celeba_subset/images_150 + landmarks/landmark_150.txt, random similarity transforms, jpeg-js q90',
    generatedAt: new Date().toISOString(),
  };
  writeFileAtomic(paths.marker, `${JSON.stringify(marker, null, 2)}\n`);
  log(`generate: done in ${((performance.now() - t0) / 1000).toFixed(0)} s (${written} written, ${need - written} already there)`);
  return { paths, marker, generated: true };
}

/**
 * The generator's geometry, checked end to end: the first few synthetic images, loaded as the benchmark loads them
 * (landmark file, 1-based), aligned, against their source crops aligned with the source landmarks. A wrong
 * landmark transform or origin would give differences of tens of levels; resampling and JPEG give a few.
 */
function checkGenerator(paths: DatasetPaths, hashCacheFile: string): { meanAbsDiff: number; images: number } {
  const set = loadTrainingSet(paths.images, { landmarks: { file: paths.landmarks }, maxIdentities: 1, hashCacheFile });
  const sourceOf = new Map(readFileSync(paths.sources, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t').slice(0, 2) as [string, string]));
  const src = celebaSources();
  const lm = new Map([...src.byIdentity.values()].flat().map((f) => [f.rel, f.landmarks]));
  let sum = 0, count = 0;
  const items = set.items.slice(0, 8);
  for (const it of items) {
    const s = sourceOf.get(it.rel)!;
    const a = alignFace(decodeImageFile(join(set.imageDir, it.rel)), it.landmarks!, CROP).image.data;
    const b = alignFace(decodeImageFile(join(src.imageDir, s)), lm.get(s)!, CROP).image.data;
    for (let k = 0; k < a.length; k++) sum += Math.abs(a[k] - b[k]);
    count += a.length;
  }
  set.close();
  return { meanAbsDiff: sum / count, images: items.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement children

interface MeasureTask {
  images: string;
  landmarks: string;
  hashCacheFile: string;
  n: number;
  storeRoot: string;
  storeDir?: string;
  seed: number;
}

/** The first n images of the dataset, as loadTrainingSet gives them (identities sorted, relabelled). */
function loadFirst(task: MeasureTask) {
  const t = performance.now();
  const set = loadTrainingSet(task.images, {
    landmarks: { file: task.landmarks },
    maxIdentities: Math.ceil(task.n / IMAGES_PER_IDENTITY),
    hashCacheFile: task.hashCacheFile,
  });
  set.close();
  if (set.items.length < task.n) throw new Error(`the dataset has ${set.items.length} images, ${task.n} needed`);
  if (set.skipped.length) throw new Error(`loadTrainingSet skipped ${set.skipped.length} entries`);
  const items = set.items.slice(0, task.n);
  return { set, items, loadS: (performance.now() - t) / 1000 };
}

interface BuildResult {
  n: number;
  loadS: number;
  hashed: number;
  buildS: number;
  buildImagesPerSec: number;
  /** From the end of the first shard (worker start-up, ~2 s of TypeScript compilation, excluded) to the end. */
  buildImagesPerSecAfterFirstShard: number | null;
  buildImagesPerCpuSec: number;
  storeDir: string;
  storeMB: number;
  status: string;
  maxRssMB: number;
  load: [number, number];
}

async function buildChild(task: MeasureTask): Promise<BuildResult> {
  const { set, items, loadS } = loadFirst(task);
  const cropItems: CropItem[] = items.map((it) => ({ rel: it.rel, sha256: it.sha256, landmarks: it.landmarks, landmarksAt: it.landmarksAt }));
  rmSync(task.storeRoot, { recursive: true, force: true });
  mkdirSync(task.storeRoot, { recursive: true });
  const loadStart = load1();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let firstShard: { t: number; images: number } | null = null, lastPrint = t0;
  const store = await buildCropStore(set.imageDir, cropItems, {
    dir: task.storeRoot,
    workers: BUILD_WORKERS,
    align: CROP,
    onProgress: (p) => {
      const now = performance.now();
      if (p.shard === 1) firstShard = { t: now, images: p.images };
      if (now - lastPrint > 5000 || p.shard === p.shards) {
        lastPrint = now;
        log(`  build n=${task.n}: shard ${p.shard}/${p.shards}, ${p.images} images, ${((p.images * 1000) / (now - t0)).toFixed(0)} img/s, load ${load1()}`);
      }
    },
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (store.count !== task.n || store.status !== 'miss') throw new Error(`store: ${store.count} crops of ${task.n}, status ${store.status}`);
  const first = firstShard as { t: number; images: number } | null;
  const storeMB = mb(readdirSync(store.dir).reduce((s, f) => s + statSync(join(store.dir, f)).size, 0));
  store.close();
  return {
    n: task.n,
    loadS,
    hashed: set.hashes.hashed,
    buildS: ms / 1000,
    buildImagesPerSec: (task.n * 1000) / ms,
    buildImagesPerSecAfterFirstShard: first && first.images < task.n ? ((task.n - first.images) * 1000) / (t0 + ms - first.t) : null,
    buildImagesPerCpuSec: (task.n * 1e6) / (cpu.user + cpu.system),
    storeDir: store.dir,
    storeMB,
    status: store.status,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    load: [loadStart, load1()],
  };
}
interface StreamResult {
  n: number;
  batches: number;
  images: number;
  streamS: number;
  streamImagesPerSec: number;
  streamImagesPerCpuSec: number;
  baselineRssMB: number;
  /** maxRSS of the process before streaming began (set loading, tfjs, store opening). */
  maxRssBeforeMB: number;
  /** process.resourceUsage().maxRSS after streaming. */
  peakRssMB: number;
  /** Largest RSS sampled after each batch (process.memoryUsage().rss). */
  sampledRssMB: number;
  load: [number, number];
}

async function streamChild(task: MeasureTask): Promise<StreamResult> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  const { items } = loadFirst(task);
  const store = CropStore.open(task.storeDir!);
  if (store.count !== task.n) throw new Error(`store ${task.storeDir} has ${store.count} crops, ${task.n} expected`);
  const labels = Int32Array.from(store.kept, (i) => items[i].label);
  const numClasses = labels.reduce((m, l) => Math.max(m, l), 0) + 1;
  const baselineRssMB = mb(process.memoryUsage().rss);
  const maxRssBeforeMB = process.resourceUsage().maxRSS / 1024;
  const provider = new CropBatchProvider(store, labels, numClasses, task.seed, { mirror: true });
  const take = async () => {
    const b = await provider.next(BATCH);
    if (b.images.shape[0] !== BATCH || b.images.shape[1] !== CROP.height || b.images.shape[2] !== CROP.width) throw new Error(`batch shape ${b.images.shape}`);
    tf.dispose([b.images, b.labels]);
  };
  await take(); // warm-up: worker start-up, first batch
  const batches = Math.max(3, Math.ceil(task.n / BATCH));
  const loadStart = load1();
  let sampled = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let lastPrint = t0;
  for (let k = 0; k < batches; k++) {
    await take();
    sampled = Math.max(sampled, process.memoryUsage().rss);
    const now = performance.now();
    if (now - lastPrint > 5000) {
      lastPrint = now;
      log(`  stream n=${task.n}: batch ${k + 1}/${batches}, ${(((k + 1) * BATCH * 1000) / (now - t0)).toFixed(0)} img/s, load ${load1()}`);
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  await provider.close();
  store.close();
  return {
    n: task.n,
    batches,
    images: batches * BATCH,
    streamS: ms / 1000,
    streamImagesPerSec: (batches * BATCH * 1000) / ms,
    streamImagesPerCpuSec: (batches * BATCH * 1e6) / (cpu.user + cpu.system),
    baselineRssMB,
    maxRssBeforeMB,
    peakRssMB,
    sampledRssMB: mb(sampled),
    load: [loadStart, load1()],
  };
}

/** Runs one measurement in a fresh process and returns what it sends back. */
function inChild<T>(role: 'build' | 'stream', task: MeasureTask): Promise<T> {
  return new Promise((ok, fail) => {
    const child = fork(SCRIPT, ['--child', role, '--task', JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: T | undefined;
    child.on('message', (m: T) => (result = m));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 && result !== undefined ? ok(result) : fail(new Error(`${role} process for n=${task.n} exited with code ${code}`))));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Main

function parseSizes(s: string): number[] {
  const sizes = s.split(',').map((v) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(k?)\s*$/i.exec(v);
    const n = m ? Math.round(Number(m[1]) * (m[2] ? 1000 : 1)) : NaN;
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`--sizes: '${v}' is not a positive count (e.g. 5000,20000 or 5k,20k)`);
    return n;
  });
  return [...new Set(sizes)].sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const sizes = args.quick ? [500] : parseSizes(args.sizes!);
  const seed = Number(args.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${args.seed}`);
  const benchDir = resolve(args.dir ?? process.env.SPHEREFACE_BENCH_DIR ?? join(tmpdir(), 'sphereface-bench-data'));
  const rel = relative(repoRoot(), benchDir);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new Error(`bench-data: ${benchDir} is inside the repository; choose a folder outside it (--dir or $SPHEREFACE_BENCH_DIR)`);
  }
  const genWorkers = Number(args['gen-workers']);
  log(`bench-data: sizes ${sizes.join(', ')}, folder ${benchDir}, node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const { paths, marker, generated } = await ensureDataset(benchDir, sizes[sizes.length - 1], seed, genWorkers);
  const hashCacheFile = join(benchDir, 'hash-cache', `${marker.n}-seed${seed}-v${GEN_VERSION}.json`);
  if (!generated) log(`dataset: reusing ${paths.folder} (${marker.n} images, seed ${seed})`);
  const check = checkGenerator(paths, hashCacheFile);
  log(`generator check: aligned synthetic vs aligned source crops, mean |Δ| ${check.meanAbsDiff.toFixed(1)} levels over ${check.images} images`);
  if (check.meanAbsDiff > 25) throw new Error('generator check failed: the synthetic landmarks do not follow the images');

  // Folders under the OS temporary directory may be cleaned by other jobs: say so rather than blame the store.
  const vanished = (e: Error) =>
    existsSync(paths.marker) ? e : new Error(`${e.message}; the dataset ${paths.folder} disappeared during the run (removed by another job?): choose a private folder with --dir or $SPHEREFACE_BENCH_DIR`);
  const results: Record<string, { build: BuildResult; stream: StreamResult }> = {};
  for (const n of sizes) {
    const task: MeasureTask = { images: paths.images, landmarks: paths.landmarks, hashCacheFile, n, storeRoot: join(benchDir, 'stores', `n${n}`), seed };
    log(`n=${n}: building the crop store (${BUILD_WORKERS} workers, ${CROP.height}x${CROP.width}) in a fresh process`);
    const build = await inChild<BuildResult>('build', task).catch((e: Error) => Promise.reject(vanished(e)));
    log(`n=${n}: build ${build.buildImagesPerSec.toFixed(0)} img/s (${build.buildImagesPerCpuSec.toFixed(0)} per CPU-s), load ${build.load.join('→')}`);
    log(`n=${n}: streaming batches of ${BATCH} in a fresh process`);
    const stream = await inChild<StreamResult>('stream', { ...task, storeDir: build.storeDir }).catch((e: Error) => Promise.reject(vanished(e)));
    log(`n=${n}: stream ${stream.streamImagesPerSec.toFixed(0)} img/s, RSS baseline ${stream.baselineRssMB.toFixed(0)} MB, peak ${stream.peakRssMB.toFixed(0)} MB, load ${stream.load.join('→')}`);
    results[n] = { build, stream };
    if (!args['keep-stores']) rmSync(task.storeRoot, { recursive: true, force: true });
  }

  const f = (v: number | null, d = 0) => (v === null ? '-' : v.toFixed(d));
  const header = ['N', 'build img/s', 'after 1st shard', 'img/CPU-s', 'load', 'stream img/s', 'img/CPU-s', 'load', 'baseline RSS MB', 'peak RSS MB', 'build maxRSS MB', 'store MB'];
  const rows = sizes.map((n) => {
    const { build: b, stream: s } = results[n];
    return [
      String(n),
      f(b.buildImagesPerSec),
      f(b.buildImagesPerSecAfterFirstShard),
      f(b.buildImagesPerCpuSec),
      `${b.load[0].toFixed(1)}→${b.load[1].toFixed(1)}`,
      f(s.streamImagesPerSec),
      f(s.streamImagesPerCpuSec),
      `${s.load[0].toFixed(1)}→${s.load[1].toFixed(1)}`,
      f(s.baselineRssMB),
      f(s.peakRssMB),
      f(b.maxRssMB),
      f(b.storeMB),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ');
  console.log('');
  console.log(`crop store build (buildCropStore, ${BUILD_WORKERS} workers, ${CROP.height}x${CROP.width}) and streaming (CropBatchProvider.next(${BATCH}), one epoch after a warm-up batch)`);
  console.log(`dataset ${paths.folder} (${marker.n} synthetic CelebA JPEGs, 150-250 px); load = 1-min load average at start→end of the phase, ${cpus().length} CPUs`);
  console.log(line(header));
  console.log(line(header.map((_, c) => '-'.repeat(widths[c]))));
  rows.forEach((r) => console.log(line(r)));
  console.log('');

  const largest = results[sizes.includes(20000) ? 20000 : sizes[sizes.length - 1]];
  const summary = {
    buildImagesPerSec: Math.round(largest.build.buildImagesPerSec),
    streamImagesPerSec: Math.round(largest.stream.streamImagesPerSec),
    peakRssMB5k: results[5000] ? Math.round(results[5000].stream.peakRssMB) : null,
    peakRssMB20k: results[20000] ? Math.round(results[20000].stream.peakRssMB) : null,
    ratesFromN: largest.build.n,
    loadavg: loadavg().map((l) => Number(l.toFixed(2))),
    cpus: cpus().length,
    batchSize: BATCH,
    crop: `${CROP.height}x${CROP.width}`,
    buildWorkers: BUILD_WORKERS,
    sizes: Object.fromEntries(
      sizes.map((n) => {
        const { build: b, stream: s } = results[n];
        return [
          n,
          {
            buildImagesPerSec: Math.round(b.buildImagesPerSec),
            buildImagesPerSecAfterFirstShard: b.buildImagesPerSecAfterFirstShard === null ? null : Math.round(b.buildImagesPerSecAfterFirstShard),
            buildImagesPerCpuSec: Math.round(b.buildImagesPerCpuSec),
            buildS: Number(b.buildS.toFixed(1)),
            buildLoad: b.load,
            buildMaxRssMB: Math.round(b.maxRssMB),
            storeMB: Math.round(b.storeMB),
            loadTrainingSetS: Number(b.loadS.toFixed(2)),
            streamImagesPerSec: Math.round(s.streamImagesPerSec),
            streamImagesPerCpuSec: Math.round(s.streamImagesPerCpuSec),
            streamImages: s.images,
            streamLoad: s.load,
            baselineRssMB: Math.round(s.baselineRssMB),
            maxRssBeforeStreamMB: Math.round(s.maxRssBeforeMB),
            peakRssMB: Math.round(s.peakRssMB),
          },
        ];
      }),
    ),
  };
  console.log(JSON.stringify(summary));
}

if (args.child === 'gen') {
  genChild(JSON.parse(args.task!) as { images: string; seed: number });
} else if (args.child === 'build' || args.child === 'stream') {
  const task = JSON.parse(args.task!) as MeasureTask;
  const result = args.child === 'build' ? await buildChild(task) : await streamChild(task);
  process.send!(result);
  process.disconnect();
} else {
  await main();
}
