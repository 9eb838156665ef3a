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
  // csrc/pooling.cc (see src/pooling-kernels.ts): element-wise loops bit-identical to tfjs's cpu kernels, oneDNN pooling.
  relu(x: Float32Array, out: Float32Array): void;
  relu6(x: Float32Array, out: Float32Array): void;
  /** tfjs's step: 1 where x > 0, NaN where x is NaN, else alpha. */
  step(x: Float32Array, out: Float32Array, alpha: number): void;
  /**
   * NHWC pooling; params [N,H,W,C, KH,KW, OH,OW, strideH,strideW, padTop,padLeft,padBottom,padRight] (pads < kernel);
   * kind 0 max, 1 average over the window's input elements (padding excluded), 2 average over the whole window.
   * false (out unspecified) when max pooling met a window whose elements are all -Infinity or NaN: oneDNN's result
   * differs from tfjs's there.
   */
  pool2d(x: Float32Array, out: Float32Array, params: number[], kind: number): boolean;
  /** The gradient of pool2d (false as pool2d's); x is needed (for the maxima's positions) by max pooling only. */
  pool2dGrad(x: Float32Array | null, dy: Float32Array, dx: Float32Array, params: number[], kind: number): boolean;
  /** The oneDNN implementation pool2d (backward false) or pool2dGrad (true) runs for these params, e.g. 'jit:avx2'. */
  poolImpl(params: number[], kind: number, backward: boolean): string;
  /** Convolution calls (forward and both gradients) run so far by each algorithm. */
  convAlgorithms(): { direct: number; winograd: number };
  /** Whether 3×3 stride-1 convolutions on maps of at least 6×6 may use Winograd (where oneDNN has it: AVX-512). */
  setWinograd(enabled: boolean): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  dnnlVersion(): string;
  /**
   * csrc/margin_softmax.cc (see src/margin-softmax-kernel.ts): MARGIN_SOFTMAX_KERNEL of @sphereface/common. dims [N, D, C];
   * spec: encodeMarginSoftmaxSpec's numbers; writes loss [1], metrics [3] (accuracy, mean target angle in degrees, mean
   * ‖x‖), dx [N, D], dW [D, C] and db [C] (exactly when bias is given). Throws a RangeError for a label outside [0, C).
   */
  marginSoftmax(
    x: Float32Array, w: Float32Array, labels: Int32Array, bias: Float32Array | null, dims: number[], spec: number[],
    loss: Float32Array, metrics: Float32Array, dx: Float32Array, dW: Float32Array, db: Float32Array | null,
  ): void;
  /**
   * csrc/crops.cc, for @sphereface/models' embedCrops: `count` crops of height × width × 3 bytes (one after another in
   * `bytes`), their centre windows with a margin normalised as (v − 127.5) / 128 into `original` and, mirrored
   * horizontally, into `mirrored` ([count, height − 2·margin, width − 2·margin, 3] each); bit-identical to embedCrops'
   * JS loop (normalisePixel is exact in float32).
   */
  normaliseCrops(bytes: Uint8Array, original: Float32Array, mirrored: Float32Array, count: number, height: number, width: number, margin: number): void;
  /** FP32 FMA throughput of all threads together, measured for about `seconds` (isa 'none': no AVX2+FMA, gflops 0). */
  measurePeak(seconds: number): { gflops: number; isa: string; threads: number };
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
