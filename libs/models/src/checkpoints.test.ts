import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CropBatchProvider, memoryCrops } from '@sphereface/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { latestCheckpoint } from './checkpoints';
import { marginHeadModel } from './margin-head';
import { Trainer } from './trainer';

const tmp = mkdtempSync(join(tmpdir(), 'sf-checkpoints-'));

/** A dense "backbone" and a softmax head over 6 images of 2×2×3: checkpoints of a few kB, written in milliseconds. */
function tiny(seed: number, checkpointDir: string) {
  const backbone = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [2, 2, 3] }), tf.layers.dense({ units: 8, name: 'fc', kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
  });
  const { model: headModel } = marginHeadModel({ numClasses: 3, loss: 'softmax', inputDim: 8, seed: seed + 1 });
  const crops = Uint8Array.from({ length: 6 * 12 }, (_, i) => Math.round(127.5 + 127.5 * Math.sin(i * 0.7)));
  // Mirrored at random (the default): the checkpoints carry the provider's order and mirror generators.
  const provider = new CropBatchProvider(memoryCrops(crops, 2, 2), Int32Array.from([0, 1, 2, 0, 1, 2]), 3, seed);
  const trainer = new Trainer(backbone, headModel, provider, { batchSize: 3, maxIter: 8, checkpointDir, checkpointEvery: 2, progress: 'none' });
  const weights = () => [...backbone.getWeights(), ...headModel.getWeights()].map((w) => Array.from(w.dataSync()));
  return {
    trainer,
    weights,
    dispose: () => {
      trainer.dispose();
      backbone.dispose();
      headModel.dispose();
    },
  };
}

/** Checkpoints at iterations 2 and 4 in a fresh folder, and the weights each holds. */
async function twoCheckpoints(name: string) {
  const dir = join(tmp, name);
  const run = tiny(1, dir);
  await run.trainer.run({ until: 2 });
  const at2 = run.weights();
  await run.trainer.run({ until: 4 });
  run.dispose();
  return { dir, at2 };
}

/** A PID that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

const truncate = (bytes: number) => (path: string) => truncateSync(path, bytes);
const scribble = (path: string) => {
  const data = readFileSync(path);
  data.fill(0x55, 0, Math.min(16, data.length)); // same size, other bytes: what a disk error or a stray write leaves
  writeFileSync(path, data);
};

describe('checkpoints', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const damaged: Array<[string, string, (path: string) => void, RegExp]> = [
    ['backbone weights truncated', 'backbone/weights.bin', truncate(72), /: 72 bytes where its manifest lists \d+ \(cut short/],
    ['head weights truncated', 'head/weights.bin', truncate(72), /: 72 bytes where its manifest lists \d+ \(cut short/],
    ['backbone weights overwritten in place', 'backbone/weights.bin', scribble, /: damaged: its sha256 differs/],
    ['backbone model.json not JSON', 'backbone/model.json', (p) => writeFileSync(p, 'garbage{'), /: not valid JSON/],
    ['optimizer state truncated', 'optimizer.bin', truncate(72), /: 72 bytes where its manifest lists \d+ \(cut short/],
    ['optimizer state missing', 'optimizer.bin', (p) => rmSync(p), /: missing$/],
    ['state.json truncated', 'state.json', truncate(40), /: not valid JSON/],
  ];

  let cases = 0;
  it.each(damaged)('%s: restoring it names the file and changes nothing; the previous checkpoint is used instead, saying so', async (_, file, damage, why) => {
    const { dir, at2 } = await twoCheckpoints(`damaged-${++cases}`);
    const newest = join(dir, 'ckpt-00000004');
    damage(join(newest, file));
    const run = tiny(9, dir);
    const initial = run.weights();
    await expect(run.trainer.restore(newest)).rejects.toThrow(join(newest, file));
    await expect(run.trainer.restore(newest)).rejects.toThrow(why);
    expect(run.trainer.iteration).toBe(0);
    expect(run.weights()).toEqual(initial); // nothing half-restored

    const result = await run.trainer.restoreNewest();
    expect(result.restored).toBe(join(dir, 'ckpt-00000002'));
    expect(result.skipped).toEqual([{ path: newest, reason: expect.stringContaining(join(newest, file)) }]);
    expect(run.trainer.iteration).toBe(2);
    expect(run.weights()).toEqual(at2);
    run.dispose();
  });

  it('a garbage latest.json is named, and the newest intact checkpoint folder is used', async () => {
    const { dir } = await twoCheckpoints('latest-garbage');
    writeFileSync(join(dir, 'latest.json'), 'garbage{');
    expect(() => latestCheckpoint(dir)).toThrow(join(dir, 'latest.json'));
    const run = tiny(9, dir);
    const result = await run.trainer.restoreNewest();
    expect(result.restored).toBe(join(dir, 'ckpt-00000004'));
    expect(result.skipped).toEqual([{ path: join(dir, 'latest.json'), reason: expect.stringContaining('not valid JSON') }]);
    expect(run.trainer.iteration).toBe(4);
    run.dispose();
  });

  it('with every checkpoint damaged, nothing is restored and each one is listed', async () => {
    const { dir } = await twoCheckpoints('all-damaged');
    for (const c of ['ckpt-00000002', 'ckpt-00000004']) truncateSync(join(dir, c, 'optimizer.bin'), 8);
    const run = tiny(9, dir);
    const result = await run.trainer.restoreNewest();
    expect(result.restored).toBeNull();
    expect(result.skipped.map((s) => s.path)).toEqual([join(dir, 'ckpt-00000004'), join(dir, 'ckpt-00000002')]);
    expect(run.trainer.iteration).toBe(0);
    run.dispose();
  });

  it('keeps the previous checkpoint beside the newest, and drops checkpoints newer than the one just written', async () => {
    const { dir } = await twoCheckpoints('keep');
    const run = tiny(1, dir);
    await run.trainer.run({ until: 6 });
    expect(readdirSync(dir).sort()).toEqual(['ckpt-00000004', 'ckpt-00000006', 'latest.json']);
    // Resumed from 4 (say 6 was damaged): writing 6 again leaves 4 and the new 6, and latest points at it.
    const again = tiny(2, dir);
    await again.trainer.restore(join(dir, 'ckpt-00000004'));
    await again.trainer.saveCheckpoint();
    expect(readdirSync(dir).sort()).toEqual(['ckpt-00000004', 'latest.json']);
    await again.trainer.run({ until: 6 });
    expect(readdirSync(dir).sort()).toEqual(['ckpt-00000004', 'ckpt-00000006', 'latest.json']);
    expect(latestCheckpoint(dir)).toBe(join(dir, 'ckpt-00000006'));
    run.dispose();
    again.dispose();
  });

  it("removes what a killed save left (latest.json.tmp-*, .tmp-ckpt-*), but not a live process's", async () => {
    const dir = join(tmp, 'leftovers');
    mkdirSync(dir, { recursive: true });
    const dead = deadPid();
    const live = process.ppid; // some other process that is alive
    const left = [`latest.json.tmp-${dead}-k2j3`, `.tmp-ckpt-00000006-${dead}`, `latest.json.tmp-${live}-abcd`, `.tmp-ckpt-00000008-${live}`];
    for (const name of left) {
      if (name.startsWith('.tmp-ckpt')) mkdirSync(join(dir, name, 'backbone'), { recursive: true });
      else writeFileSync(join(dir, name), '{"name":"ckpt-0000');
    }
    const run = tiny(1, dir);
    await run.trainer.run({ until: 2 });
    run.dispose();
    expect(existsSync(join(dir, left[0]))).toBe(false);
    expect(existsSync(join(dir, left[1]))).toBe(false);
    expect(existsSync(join(dir, left[2]))).toBe(true);
    expect(existsSync(join(dir, left[3]))).toBe(true);
  });
});
