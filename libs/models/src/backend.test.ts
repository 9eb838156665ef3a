import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_ENV, selectBackend } from './backend';
import { defaultVulkanManifests } from './webgpu';

describe('selectBackend', () => {
  const saved = process.env[BACKEND_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[BACKEND_ENV];
    else process.env[BACKEND_ENV] = saved;
  });

  it('without tfjs-node picks webgpu on a real GPU, else native when its oneDNN addon is built, else wasm, and records why others were skipped', async () => {
    delete process.env[BACKEND_ENV];
    const lines: string[] = [];
    const info = await selectBackend({ log: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`backend ${info.choice}`);
    if (info.choice === 'webgpu') {
      // A machine with a GPU that Dawn reaches through Vulkan.
      expect(info.webgpu?.software).toBe(false);
      expect(Object.keys(info.skipped)).toEqual(['node-gpu']);
      return;
    }
    // No Vulkan driver (CI: VK_ICD_FILENAMES unset), or only a software one, which is never chosen automatically.
    expect(info.skipped.webgpu).toMatch(/^webgpu: (no Vulkan driver manifest|no adapter|software adapter)/);
    // Imported the way selectBackend does (an optional workspace package), to know which outcome is right here.
    const spec = '@sphereface/native';
    const native = (await import(/* @vite-ignore */ spec).catch(() => null)) as { loadNativeAddon(): unknown } | null;
    const addon = native ? native.loadNativeAddon() : 'package missing';
    if (typeof addon === 'string') {
      expect(info.choice).toBe('wasm');
      expect(Object.keys(info.skipped)).toEqual(['node-gpu', 'webgpu', 'node', 'native']);
      expect(info.skipped.native).toContain(native ? addon : '@sphereface/native');
    } else {
      expect(info.choice).toBe('native');
      expect(tf.getBackend()).toBe('native');
      expect(info.native?.threads).toBeGreaterThanOrEqual(1);
      expect(info.versions.onednn).toMatch(/^\d+\.\d+\.\d+$/);
      expect(Object.keys(info.skipped)).toEqual(['node-gpu', 'webgpu', 'node']);
    }
  });

  it('wasm: SIMD, one thread, the training kernels', async () => {
    const info = await selectBackend({ force: 'wasm', log: null });
    expect(tf.getBackend()).toBe('wasm');
    expect(info.wasm).toEqual({ simd: true, threads: 1, trainingKernels: true });
    expect(info.versions['tfjs-backend-wasm']).toBe('4.22.0');
  });

  it('honours the environment variable', async () => {
    process.env[BACKEND_ENV] = 'cpu';
    const info = await selectBackend({ log: null });
    expect(info).toMatchObject({ choice: 'cpu', tfBackend: 'cpu', forced: true });
  });

  it('throws instead of falling back when a forced backend is unavailable', async () => {
    await expect(selectBackend({ force: 'node', log: null })).rejects.toThrow(/forced backend 'node' is unavailable/);
    process.env[BACKEND_ENV] = 'webgl2';
    await expect(selectBackend({ log: null })).rejects.toThrow(/unknown backend 'webgl2'/);
  });
});

describe('defaultVulkanManifests', () => {
  it("lists the driver manifests in the Vulkan loader's default folders (XDG data and config dirs, /etc)", () => {
    const saved = { data: process.env.XDG_DATA_DIRS, config: process.env.XDG_CONFIG_DIRS, home: process.env.XDG_DATA_HOME };
    const dir = mkdtempSync(join(tmpdir(), 'sf-vk-'));
    try {
      mkdirSync(join(dir, 'data', 'vulkan', 'icd.d'), { recursive: true });
      writeFileSync(join(dir, 'data', 'vulkan', 'icd.d', 'nvidia_icd.json'), '{}');
      writeFileSync(join(dir, 'data', 'vulkan', 'icd.d', 'README'), '');
      Object.assign(process.env, { XDG_DATA_DIRS: join(dir, 'data'), XDG_CONFIG_DIRS: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'home') });
      const found = defaultVulkanManifests().filter((f) => f.startsWith(dir));
      expect(found).toEqual([join(dir, 'data', 'vulkan', 'icd.d', 'nvidia_icd.json')]);
    } finally {
      for (const [key, value] of [['XDG_DATA_DIRS', saved.data], ['XDG_CONFIG_DIRS', saved.config], ['XDG_DATA_HOME', saved.home]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
