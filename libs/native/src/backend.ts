import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { BufferPool } from './buffer-pool';
import { loadNativeAddon, type NativeAddon } from './loader';
import { registerNativeKernels } from './kernels';

export const NATIVE_BACKEND = 'native';

/** The parts of tfjs-backend-cpu's MathBackendCPU the native backend uses. */
export interface CpuBackendLike extends tf.KernelBackend {
  data: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues }; has(dataId: tf.DataId): boolean };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId;
  move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void;
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** The native backend as its kernels see it. */
export interface NativeBackendLike extends CpuBackendLike {
  /** An output array for a kernel that overwrites every element (recycled, so not zeroed). */
  alloc(length: number): Float32Array;
}

/** Most bytes of freed kernel outputs kept for reuse. */
const POOL_BYTES = 512 << 20;

export interface NativeBackendInfo {
  backend: string;
  dnnl: string;
  threads: number;
  /** Whether Winograd convolutions are enabled (see setNativeWinograd). */
  winograd: boolean;
}

let info: NativeBackendInfo | null = null;

/**
 * MathBackendCPU, taken from tfjs's registry rather than imported: under vitest an import of
 * @tensorflow/tfjs-backend-cpu may resolve to its ESM build, a second copy beside the one @tensorflow/tfjs loaded.
 */
function cpuBackendClass(): new () => CpuBackendLike {
  const factory = tf.findBackendFactory('cpu');
  if (!factory) throw new Error("@sphereface/native: tfjs has no 'cpu' backend registered");
  const probe = factory() as CpuBackendLike;
  const ctor = probe.constructor as new () => CpuBackendLike;
  probe.dispose();
  return ctor;
}

function threadCount(requested?: number): number {
  if (requested !== undefined) return requested;
  const omp = Number(process.env.OMP_NUM_THREADS);
  return Number.isInteger(omp) && omp > 0 ? omp : availableParallelism();
}

/**
 * Registers the 'native' backend: tfjs's cpu backend (tensors stay in its Float32Arrays) with the hot kernels
 * (convolutions and their gradients, matmuls, PReLU and its gradient) run by oneDNN through the addon.
 * Idempotent. Throws with the reason when the addon is unavailable (not built, or fails to load).
 * Activate with `await tf.setBackend('native')` and check that it returned true.
 */
export function registerNativeBackend(options: { threads?: number; priority?: number } = {}): NativeBackendInfo {
  if (info) return info;
  const addon = loadNativeAddon();
  if (typeof addon === 'string') throw new Error(`@sphereface/native: ${addon}`);
  const threads = threadCount(options.threads);
  addon.setNumThreads(threads);
  const winograd = process.env.SPHEREFACE_NATIVE_WINOGRAD !== '0';
  addon.setWinograd(winograd);
  const Cpu = cpuBackendClass();
  /**
   * A fresh multi-megabyte Float32Array costs page faults on first touch, several times the cost of an element-wise
   * kernel writing it (11M floats: 63 vs 16 ms measured), so kernel outputs are recycled. Safety: only arrays from
   * alloc() are recycled, once no tensor data record refers to their buffer (cpu kernels may keep views of an input,
   * e.g. Slice), and reads hand out copies of them, so no array the caller can hold is ever overwritten.
   */
  class NativeBackend extends Cpu implements NativeBackendLike {
    readonly addon: NativeAddon = addon as NativeAddon;
    private readonly owned = new WeakSet<ArrayBufferLike>();
    /** Data records referring to each owned buffer. */
    private readonly users = new Map<ArrayBufferLike, number>();
    private readonly pool = new BufferPool(POOL_BYTES);

    alloc(length: number): Float32Array {
      const hit = this.pool.take(length);
      if (hit) return hit;
      const fresh = new Float32Array(length);
      this.owned.add(fresh.buffer);
      return fresh;
    }

    private track(values: tf.backend_util.BackendValues, delta: number): void {
      const buffer = (values as Float32Array).buffer;
      if (!(values instanceof Float32Array) || !this.owned.has(buffer)) return;
      const n = (this.users.get(buffer) ?? 0) + delta;
      if (n > 0) return void this.users.set(buffer, n);
      this.users.delete(buffer);
      if (values.byteOffset !== 0 || values.byteLength !== buffer.byteLength) return;
      this.pool.give(values);
    }

    override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
      this.track(values, 1);
      return super.write(values, shape, dtype);
    }

    override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
      this.track(values, 1);
      super.move(dataId, values, shape, dtype, refCount);
    }

    override disposeData(dataId: tf.DataId, force?: boolean): boolean {
      const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
      const disposed = super.disposeData(dataId, force);
      if (disposed && values) {
        // Before the array can be recycled (or its address reused): the addon keys reordered copies by address.
        if (values instanceof Float32Array) this.addon.forgetReordered(values);
        this.track(values, -1);
      }
      return disposed;
    }

    override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
      const values = super.readSync(dataId);
      return values instanceof Float32Array && this.owned.has(values.buffer) ? values.slice() : values;
    }

    override dispose(): void {
      this.pool.clear();
      super.dispose();
    }
  }
  // Priority 0 (below cpu's 1): registering must not change which backend tfjs picks by default.
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), options.priority ?? 0);
  registerNativeKernels(addon);
  info = { backend: NATIVE_BACKEND, dnnl: addon.dnnlVersion(), threads: addon.getNumThreads(), winograd };
  return info;
}

function registeredAddon(caller: string): NativeAddon {
  const addon = loadNativeAddon();
  if (!info || typeof addon === 'string') throw new Error(`${caller}: the native backend is not registered (call registerNativeBackend first)`);
  return addon;
}

/**
 * Whether 3×3 stride-1 convolutions on maps of at least 6×6 use Winograd F(4×4, 3×3) where oneDNN has it (AVX-512
 * CPUs; elsewhere they stay direct). On by default; `SPHEREFACE_NATIVE_WINOGRAD=0` turns it off at registration.
 * The choice follows from shape and CPU only, so results repeat on the same machine; Winograd rounds differently
 * from the direct algorithm (both within the kernel tests' bound against the cpu backend).
 */
export function setNativeWinograd(enabled: boolean): void {
  registeredAddon('setNativeWinograd').setWinograd(enabled);
  info = { ...info!, winograd: enabled };
}

/** Convolution calls (forward, input and filter gradients) run so far by each oneDNN algorithm. */
export function nativeConvAlgorithms(): { direct: number; winograd: number } {
  return registeredAddon('nativeConvAlgorithms').convAlgorithms();
}
