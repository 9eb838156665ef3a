import { describe } from 'vitest';
import { selectBackend } from '../backend';
import type { WebGpuInfo } from '../webgpu';

/** Set in CI (which installs chromium's SwiftShader and libvulkan1): no webgpu adapter then fails the suite instead of skipping it. */
export const WEBGPU_REQUIRED_ENV = 'SPHEREFACE_WEBGPU_REQUIRED';

async function probe(): Promise<{ info: WebGpuInfo } | { unavailable: string }> {
  try {
    const selected = await selectBackend({ force: 'webgpu', log: null });
    return { info: selected.webgpu! };
  } catch (e) {
    return { unavailable: e instanceof Error ? e.message : String(e) };
  }
}

const probed = await probe();
/** The adapter (SwiftShader here and in CI unless VK_ICD_FILENAMES names another driver), or null with `unavailable`. */
export const webgpuAdapter: WebGpuInfo | null = 'info' in probed ? probed.info : null;
export const unavailable: string | null = 'unavailable' in probed ? probed.unavailable : null;
if (unavailable && process.env[WEBGPU_REQUIRED_ENV] === '1') {
  throw new Error(`webgpu tests: ${WEBGPU_REQUIRED_ENV}=1 but ${unavailable}`);
}
if (unavailable) console.warn(`[@sphereface/models] webgpu tests skipped: ${unavailable}`);

/** describe() that skips, naming the reason, when Dawn has no adapter. */
export const describeWebGpu = (name: string, fn: () => void) =>
  unavailable ? describe.skip(`${name} (skipped: ${unavailable})`, fn) : describe(name, fn);
