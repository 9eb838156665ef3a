import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The oneDNN addon (csrc/addon.cc). NHWC activations, HWIO filters; outputs are caller-allocated. */
export interface NativeAddon {
  /** params: see CONV_PARAMS in kernels.ts. */
  conv2d(x: Float32Array, filter: Float32Array, bias: Float32Array | null, out: Float32Array, params: number[], relu: boolean): void;
  conv2dBackpropInput(dy: Float32Array, filter: Float32Array, out: Float32Array, params: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, out: Float32Array, params: number[]): void;
  /** dims [batchA, batchB, M, K, N]; out [max(batchA, batchB), M, N]. */
  matmul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, dims: number[], transposeA: boolean, transposeB: boolean, relu: boolean): void;
  prelu(x: Float32Array, alpha: Float32Array, out: Float32Array): void;
  preluGrad(x: Float32Array, alpha: Float32Array, dy: Float32Array, dx: Float32Array, dalpha: Float32Array): void;
  /**
   * op: 0 add, 1 sub, 2 mul, 3 div; out has the longer operand's length; element i meets element
   * floor(i / inner) mod length of the shorter one (inner 1: a scalar or a repeating bias).
   */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, inner: number): void;
  square(x: Float32Array, out: Float32Array): void;
  /** x as [rows, cols]: overRows → out[cols] (column sums), else out[rows] (row sums). */
  sum(x: Float32Array, out: Float32Array, rows: number, cols: number, overRows: boolean): void;
  /** One SGD step (see @sphereface/models' sgdMomentum): writes wOut, vOut. */
  sgdMomentum(w: Float32Array, g: Float32Array, v: Float32Array, wOut: Float32Array, vOut: Float32Array, lr: number, momentum: number, decay: number, scale: number): void;
  /** Σ x², accumulated in double. */
  sumOfSquares(x: Float32Array): number;
  /** Drops the reordered copies of an array's data kept between a convolution's forward and its gradients. */
  forgetReordered(array: Float32Array): void;
  /** Counts of kept-reorder reuses (hits) and reorders made (misses), and the bytes kept now. */
  reorderStats(): { hits: number; misses: number; keptBytes: number };
  setNumThreads(n: number): void;
  getNumThreads(): number;
  dnnlVersion(): string;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ADDON_PATH = join(packageRoot, 'build', 'Release', 'sphereface_native.node');
const SKIP_REASON = join(packageRoot, 'build', 'skip-reason.txt');

const loaded = new Map<string, NativeAddon | string>();

/**
 * Loads the addon, or returns why it cannot be used (never throws): the reason the install script recorded when it
 * skipped the build, a missing file, or the loader's error (e.g. libdnnl.so.2 removed after the build).
 */
export function loadNativeAddon(path: string = ADDON_PATH): NativeAddon | string {
  const hit = loaded.get(path);
  if (hit !== undefined) return hit;
  let result: NativeAddon | string;
  if (!existsSync(path)) {
    const recorded = path === ADDON_PATH && existsSync(SKIP_REASON) ? readFileSync(SKIP_REASON, 'utf8').trim() : null;
    result = recorded ?? `addon not built (${path} missing); build it with \`npm run build:addon -w @sphereface/native\``;
  } else {
    try {
      result = createRequire(import.meta.url)(path) as NativeAddon;
    } catch (e) {
      result = `addon ${path} failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  loaded.set(path, result);
  return result;
}
