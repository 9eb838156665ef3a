import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend';
import { EMBED_BENCH_CONFIGS, embedBenchImages, embedBenchKey, LFW_EMBED_IMAGES, syntheticCrops, timeEmbedding, timeTorchEmbedding } from './step-bench';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

describe('LFW embedding benchmark', () => {
  beforeAll(async () => {
    await selectBackend({ force: 'wasm', log: null });
  });

  it('configs: the cpu profile network first; keys; the timed count is at most 7,701', () => {
    expect(EMBED_BENCH_CONFIGS.map(embedBenchKey)).toEqual(['lfw-embed/sphereface4×0.25@56x48', 'lfw-embed/sphereface4@112x96', 'lfw-embed/sphereface20@112x96']);
    expect(EMBED_BENCH_CONFIGS.map(embedBenchImages)).toEqual([LFW_EMBED_IMAGES, LFW_EMBED_IMAGES, 256]);
    expect(embedBenchImages({ model: 'sphereface4', size: [8, 8], images: 1e6 })).toBe(LFW_EMBED_IMAGES);
  });

  it('syntheticCrops: 64 distinct images repeated', () => {
    const crops = syntheticCrops(130, [4, 3]);
    expect(crops.count).toBe(130);
    const [a, b, c] = [crops.read(1), crops.read(65), crops.read(129)];
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(crops.read(2)).not.toEqual(a);
    expect(crops.read(0)[1]).toBe(Math.round(127.5 + 127.5 * Math.sin(0.37)));
  });

  it('timeEmbedding: embeds the timed images, scales the time to 7,701, no leaks', async () => {
    const before = tf.memory().numTensors;
    let profiled = -1;
    const t = await timeEmbedding(
      { model: 'sphereface4', size: [28, 24], width: 0.125, images: 70 },
      { after: async (backbone, crops) => void (profiled = crops.count + backbone.outputs[0].shape[1]!) },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(profiled).toBe(70 + 512);
    expect(t).toMatchObject({ images: 70, extrapolated: true, dim: 512 });
    expect(t.timedS).toBeGreaterThan(0);
    expect(t.seconds).toBeCloseTo((t.timedS * LFW_EMBED_IMAGES) / 70, 9);
  });

  it.skipIf(!hasTorch)('timeTorchEmbedding: the same network in PyTorch (embed mode), scaled the same way', () => {
    const t = timeTorchEmbedding({ model: 'sphereface4', size: [28, 24], width: 0.125, images: 70 }, { python: PYTHON, threads: 1, env: { OPENBLAS_NUM_THREADS: '1' } });
    if (typeof t === 'string') throw new Error(t);
    expect(t.label).toMatch(/^torch \S+ \(1 threads, .*, OPENBLAS_NUM_THREADS=1\)$/);
    expect(t).toMatchObject({ images: 70, extrapolated: true });
    expect(t.seconds).toBeCloseTo((t.timedS * LFW_EMBED_IMAGES) / 70, 9);
  });

  it('timeTorchEmbedding: a missing interpreter is a reason, not a throw', () => {
    expect(timeTorchEmbedding(EMBED_BENCH_CONFIGS[0], { python: '/nonexistent/python3', threads: 1 })).toBe('/nonexistent/python3 not found');
  });
});
