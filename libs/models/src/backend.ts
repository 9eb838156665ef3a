import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './wasm-kernels';
import { registerWebGpuBackend, webGpuVersions, type WebGpuInfo } from './webgpu';

/** Backend choices, fastest first. */
export const BACKEND_CHOICES = ['node-gpu', 'webgpu', 'node', 'native', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Environment variable that forces one backend (no fallback: failure throws). */
export const BACKEND_ENV = 'SPHEREFACE_BACKEND';

/** What ran, for run records. */
export interface BackendInfo {
  choice: BackendChoice;
  /** tf.getBackend() after selection ('tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu'). */
  tfBackend: string;
  forced: boolean;
  versions: Record<string, string>;
  wasm?: { simd: boolean; threads: number; trainingKernels: boolean };
  /** @sphereface/native: oneDNN version, OpenMP threads, and whether 3×3 stride-1 convolutions may use Winograd. */
  native?: { dnnl: string; threads: number; winograd: boolean };
  /** webgpu (Dawn): the adapter's name, its limits, whether it is a software one (SwiftShader), the Vulkan driver manifest. */
  webgpu?: WebGpuInfo;
  gpu?: boolean;
  /** Why faster choices were skipped. */
  skipped: Record<string, string>;
}

export interface SelectBackendOptions {
  /** Force a choice; default: process.env.SPHEREFACE_BACKEND, else the first that works. */
  force?: BackendChoice;
  /** Logger for the one-line summary; default console.log. Pass null for silence. */
  log?: ((line: string) => void) | null;
}

/** @sphereface/native, an optional dependency: typed here, loaded only when the native backend is tried. */
type NativeModule = typeof import('@sphereface/native');

// Variable specifiers keep bundlers and tsc from resolving the optional packages at build time.
async function importOptional(spec: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  // tfjs answers false and silently keeps another backend (e.g. wasm threads under Node): never accept that.
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`selectBackend: tf.setBackend('${name}') failed (returned ${ok}, active backend '${tf.getBackend()}')`);
  }
  await tf.ready();
}

async function tryChoice(choice: BackendChoice, forced: boolean, info: Partial<BackendInfo>): Promise<void> {
  switch (choice) {
    case 'node-gpu': {
      const mod = await importOptional('@tensorflow/tfjs-node-gpu');
      await activate('tensorflow');
      const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
      if (!be.isUsingGpuDevice) throw new Error('tfjs-node-gpu loaded but no CUDA device is usable');
      info.gpu = true;
      info.versions = { ...(mod.version as Record<string, string>) };
      return;
    }
    case 'webgpu': {
      // Chosen automatically only on a real GPU; a forced choice accepts a software adapter (SwiftShader in CI).
      const webgpu = await registerWebGpuBackend(forced);
      await activate('webgpu');
      info.webgpu = webgpu;
      info.gpu = !webgpu.software;
      info.versions = { ...tf.version, ...webGpuVersions() };
      return;
    }
    case 'node': {
      const mod = await importOptional('@tensorflow/tfjs-node');
      await activate('tensorflow');
      info.gpu = false;
      info.versions = { ...(mod.version as Record<string, string>) };
      return;
    }
    case 'native': {
      // oneDNN kernels on the cpu backend (@sphereface/native); throws why when its addon was not built (no libdnnl-dev).
      const mod = (await importOptional('@sphereface/native')) as unknown as NativeModule;
      const native = mod.registerNativeBackend();
      await activate('native');
      info.native = { dnnl: native.dnnl, threads: native.threads, winograd: native.winograd };
      info.versions = { ...tf.version, onednn: native.dnnl };
      return;
    }
    case 'wasm': {
      registerWasmTrainingKernels();
      await activate('wasm');
      info.wasm = {
        simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
        threads: tfwasm.getThreadsCount(),
        trainingKernels: true,
      };
      info.versions = { ...tf.version, 'tfjs-backend-wasm': tfwasm.version_wasm };
      return;
    }
    case 'cpu':
      await activate('cpu');
      info.versions = { ...tf.version };
      return;
  }
}

function parseChoice(value: string, source: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new Error(`${source}: unknown backend '${value}' (expected one of ${BACKEND_CHOICES.join(', ')})`);
}

/**
 * Picks the fastest trainable backend: tfjs-node-gpu (CUDA) > webgpu (Dawn on a real GPU; a software adapter such as
 * SwiftShader only when forced) > tfjs-node > native (@sphereface/native's oneDNN kernels, when its addon is built) >
 * wasm (SIMD, 1 thread) with this package's training kernels > cpu. A forced choice that fails throws instead of
 * falling back.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const env = process.env[BACKEND_ENV];
  const forced = options.force ?? (env ? parseChoice(env, `$${BACKEND_ENV}`) : undefined);
  const candidates = forced ? [forced] : [...BACKEND_CHOICES];
  const skipped: Record<string, string> = {};
  for (const choice of candidates) {
    const partial: Partial<BackendInfo> = {};
    try {
      await tryChoice(choice, Boolean(forced), partial);
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      if (forced) throw new Error(`selectBackend: forced backend '${choice}' is unavailable: ${why}`);
      skipped[choice] = why;
      continue;
    }
    const info: BackendInfo = { choice, tfBackend: tf.getBackend(), forced: Boolean(forced), versions: partial.versions ?? {}, skipped, ...partial };
    const log = options.log === undefined ? console.log : options.log;
    log?.(
      `[sphereface] backend ${choice} (tf '${info.tfBackend}')` +
        (info.wasm ? ` simd=${info.wasm.simd} threads=${info.wasm.threads}` : '') +
        (info.native ? ` oneDNN ${info.native.dnnl} threads=${info.native.threads}${info.native.winograd ? ' winograd' : ''}` : '') +
        (info.webgpu ? ` adapter '${info.webgpu.adapter.vendor} ${info.webgpu.adapter.architecture}' (${info.webgpu.adapter.description})` : '') +
        ` versions ${JSON.stringify(info.versions)}` +
        (Object.keys(skipped).length ? ` skipped ${JSON.stringify(skipped)}` : ''),
    );
    return info;
  }
  throw new Error(`selectBackend: no backend could be activated: ${JSON.stringify(skipped)}`);
}
