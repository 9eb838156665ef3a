import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { registerWebGpuTrainingKernels } from './webgpu-kernels';

/**
 * WebGPU on Node for @tensorflow/tfjs-backend-webgpu, through Dawn (the `webgpu` package, prebuilt dawn.node).
 *
 * On Linux Dawn runs on Vulkan: it needs the Vulkan loader (Debian `libvulkan1`), and the loader needs a driver
 * manifest (ICD JSON), found in its default search paths or named by VK_ICD_FILENAMES / VK_DRIVER_FILES. The
 * loader reads those variables when Dawn creates its instance, so setting them in process.env before
 * registerWebGpuBackend() is enough. NVIDIA's manifest is `nvidia_icd.json` from the driver; mesa's lavapipe is
 * rejected by Dawn (no shaderUniform*ArrayDynamicIndexing). SwiftShader (CPU, very slow, for correctness tests)
 * ships in Debian's chromium package as SWIFTSHADER_ICD; it is used only when asked for (allowSoftware, i.e.
 * webgpu forced): then, if no variable names a driver and Dawn finds no adapter, that manifest is tried.
 */

/** SwiftShader's Vulkan driver manifest from Debian's chromium (package chromium-common). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Adapter limits that bound what tfjs-backend-webgpu can run (it requests exactly these from the adapter). */
const LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** The adapter that ran, for run records. */
export interface WebGpuInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  limits: Record<(typeof LIMITS)[number], number>;
  /** A CPU implementation (SwiftShader, llvmpipe, …): never chosen automatically. */
  software: boolean;
  /** The Vulkan driver manifest setting in force: VK_DRIVER_FILES / VK_ICD_FILENAMES, or the loader's default search. */
  icd: string;
}

/** Versions of the two packages (the `webgpu` package pins its Dawn build). */
export function webGpuVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return { 'tfjs-backend-webgpu': version('@tensorflow/tfjs-backend-webgpu'), webgpu: version('webgpu') };
}

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|basic render/i;

function icdSetting(): string {
  const { VK_DRIVER_FILES, VK_ICD_FILENAMES } = process.env;
  if (VK_DRIVER_FILES) return `VK_DRIVER_FILES=${VK_DRIVER_FILES}`;
  if (VK_ICD_FILENAMES) return `VK_ICD_FILENAMES=${VK_ICD_FILENAMES}`;
  return 'the Vulkan loader default search (VK_ICD_FILENAMES and VK_DRIVER_FILES unset)';
}

/** The Vulkan loader's default driver-manifest folders (Linux), in its search order. */
function manifestFolders(): string[] {
  const data = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const config = (process.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const home = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return [...config, '/etc', ...data, home].map((d) => join(d, 'vulkan', 'icd.d'));
}

/** Driver manifests the loader would find by itself (empty: Dawn cannot get a Vulkan adapter without a variable naming one). */
export function defaultVulkanManifests(): string[] {
  return manifestFolders().flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)) : []));
}

interface Dawn { gpu: GPU; globals: object; adapter: GPUAdapter | null }
/**
 * The Dawn instance that found an adapter, kept for the life of the process: tfjs's device lives on it, and a
 * replaced instance that gets garbage-collected under a live device crashes Dawn (seen as a failed pthread mutex).
 */
let kept: Dawn | undefined;

/** Dawn's adapter, chosen as tfjs-backend-webgpu chooses; a new instance (reading the Vulkan variables as they are now) until one has an adapter. */
async function requestAdapter(): Promise<Dawn> {
  if (kept) return kept;
  // Imported when webgpu is tried, not with this package: loading dawn.node costs every process that never uses it.
  const { create, globals } = await import('webgpu');
  const gpu = create([]);
  const dawn = { gpu, globals, adapter: await gpu.requestAdapter({ powerPreference: 'high-performance' }) };
  if (dawn.adapter) kept = dawn;
  return dawn;
}

function describeAdapter(adapter: GPUAdapter): WebGpuInfo {
  const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
  const limits = Object.fromEntries(LIMITS.map((k) => [k, adapter.limits[k]])) as WebGpuInfo['limits'];
  const software = isFallbackAdapter || SOFTWARE_NAMES.test(`${vendor} ${architecture} ${device} ${description}`);
  return { adapter: { vendor, architecture, device, description }, limits, software, icd: icdSetting() };
}

/**
 * Finds Dawn's adapter and registers tfjs-backend-webgpu on it (WebGPU globals and `navigator.gpu`, then the
 * package import, which registers the backend only when `navigator.gpu` exists) with this package's kernel fixes
 * (webgpu-kernels.ts). A software adapter is accepted only with allowSoftware. Throws naming the cause when there
 * is no usable adapter.
 */
export async function registerWebGpuBackend(allowSoftware: boolean): Promise<WebGpuInfo> {
  const configured = Boolean(process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES);
  // Without any driver manifest Dawn can only fail, after printing the loader's warnings: in automatic selection on a
  // machine without a GPU driver (CI, most CPU users), say so without starting it.
  const noDriver = !kept && !configured && defaultVulkanManifests().length === 0;
  if (noDriver && !allowSoftware) {
    throw new Error(`webgpu: no Vulkan driver manifest in ${manifestFolders().join(', ')} (and VK_ICD_FILENAMES, VK_DRIVER_FILES unset): no GPU driver to run on`);
  }
  if (noDriver && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  let { gpu, globals, adapter } = await requestAdapter();
  if (!adapter && allowSoftware && !configured && process.env.VK_ICD_FILENAMES !== SWIFTSHADER_ICD && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    ({ gpu, globals, adapter } = await requestAdapter());
  }
  if (!adapter) {
    throw new Error(
      `webgpu: no adapter (${icdSetting()}): Dawn found no usable Vulkan driver (its warnings on stderr say why; ` +
        `it needs libvulkan1 and a driver manifest${allowSoftware ? `, e.g. SwiftShader's ${SWIFTSHADER_ICD} from Debian's chromium` : ''})`,
    );
  }
  const info = describeAdapter(adapter);
  if (info.software && !allowSoftware) {
    throw new Error(
      `webgpu: software adapter '${info.adapter.vendor} ${info.adapter.architecture}' (${info.adapter.description}) is used only when webgpu is forced`,
    );
  }
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  registerWebGpuTrainingKernels();
  return info;
}
