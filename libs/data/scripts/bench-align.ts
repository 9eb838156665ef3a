/**
 * Decode + align throughput on LFW (images/s): decode only, align only, both on this thread,
 * and both on worker threads; then the training feed from the crop cache (read + batches as tensors). Usage: npx tsx libs/data/scripts/bench-align.ts [--n 2000] [--workers 2,3,4]
 * Worker start-up (~2 s: each worker compiles the TypeScript sources) is excluded by a warm-up run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { alignFace, CropBatchProvider, CropPool, DEFAULT_ALIGN, decodeImageFile, type Image, loadCrops, loadLfwPairs, memoryCrops } from '../src/index';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, workers: { type: 'string', default: '2,3,4' } } });
const lfw = loadLfwPairs();
const rels = [...new Set(lfw.pairs.flatMap((p) => [p.a, p.b]))].slice(0, Number(values.n));
const tasks = rels.map((rel) => ({ path: join(lfw.imageDir, rel), landmarks: lfw.landmarks.entries.get(rel)!.points }));
// Wall-clock rate, plus images per CPU-second of this process (all its threads): the machine is
// shared, and the second figure is what one fully available core would give.
let cpuMs = 0;
const rate = (count: number, ms: number) =>
  `${((count * 1000) / ms).toFixed(0).padStart(5)} img/s  (${((count * 1000) / cpuMs).toFixed(0)} img per CPU-s)`;
const time = async (f: () => unknown) => {
  const c = process.cpuUsage();
  const t = performance.now();
  await f();
  const d = process.cpuUsage(c);
  cpuMs = (d.user + d.system) / 1000;
  return performance.now() - t;
};

console.log(`LFW images_150, ${tasks.length} images -> ${DEFAULT_ALIGN.height}x${DEFAULT_ALIGN.width}, node ${process.version}, ${cpus().length} CPUs (${cpus()[0].model}), load average ${loadavg()[0].toFixed(1)}`);
for (const t of tasks.slice(0, 200)) alignFace(decodeImageFile(t.path), t.landmarks); // JIT warm-up
let imgs: Image[] = [];
console.log(`decode only (jpeg-js)      ${rate(tasks.length, await time(() => (imgs = tasks.map((t) => decodeImageFile(t.path)))))}`);
console.log(`align only (bilinear warp) ${rate(tasks.length, await time(() => imgs.forEach((im, i) => alignFace(im, tasks[i].landmarks))))}`);
const single = new CropPool(0);
console.log(`decode+align, 1 thread     ${rate(tasks.length, await time(() => single.run(tasks, DEFAULT_ALIGN)))}`);
for (const n of values.workers!.split(',').map(Number)) {
  const pool = new CropPool(n);
  await pool.run(tasks.slice(0, 16 * n), DEFAULT_ALIGN); // start-up and JIT warm-up
  const ms = await time(() => pool.run(tasks, DEFAULT_ALIGN));
  console.log(`decode+align, ${n} workers   ${rate(tasks.length, ms)}`);
  await pool.close();
}

const dir = mkdtempSync(join(tmpdir(), 'sf-bench-'));
const items = tasks.map((t, i) => ({ rel: rels[i], landmarks: t.landmarks }));
await loadCrops(lfw.imageDir, items, { dir, workers: 2 });
await tf.setBackend('cpu');
let crops!: Awaited<ReturnType<typeof loadCrops>>;
console.log(`crop cache hit (read+check) ${rate(tasks.length, await time(async () => (crops = await loadCrops(lfw.imageDir, items, { dir }))))}`);
// One epoch's worth of shuffled, mirrored batches of 64 from the crops in memory (one class per image).
const provider = new CropBatchProvider(memoryCrops(crops.data, crops.height, crops.width), Int32Array.from(crops.kept), items.length, 1, { mirror: true });
const batches = Math.ceil(crops.kept.length / 64);
const feed = async () => {
  for (let k = 0; k < batches; k++) {
    const b = await provider.next(64);
    tf.dispose([b.images, b.labels]);
  }
};
console.log(`cached batches of 64 -> tf ${rate(batches * 64, await time(feed))}`);
rmSync(dir, { recursive: true });
