import type * as tf from '@tensorflow/tfjs';
import type { NativeBackendLike } from './backend';

/** What the native kernel files share: the kernel-function signature and array access. */

export type Attrs = Record<string, unknown>;
// Optional inputs (bias, preluActivationWeights) are absent at run time although typed present.
export type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: NativeBackendLike; attrs?: Attrs };
/** A replacement kernel: its outputs, or null to hand the call to the cpu kernel. */
export type Fast = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null;

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The float32 array behind a tensor of the native (cpu) backend, or null when it is not float32. */
export function f32(backend: NativeBackendLike, t: tf.TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : null;
}
