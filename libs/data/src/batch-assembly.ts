// Batch assembly without tfjs, so that the store workers (store-worker-main.ts) load only this and the store.
import type { CropSource } from './crop-store';
import { normalisePixel } from './image';

/** normalisePixel for every byte value, so the batch loops are table look-ups. */
const NORMALISED = Float32Array.from({ length: 256 }, (_, v) => normalisePixel(v));

/** Which crops make a batch, and how each is augmented. */
export interface BatchPlan {
  /** Crop index of each row. */
  indices: Int32Array;
  /** 1 where the row is mirrored. */
  flips: Uint8Array;
  /** The batch's image size: the whole crop, or a window of it (random-crop augmentation). */
  height: number;
  width: number;
  /** Per row, the window's top-left corner [y, x] in the crop (length 2N; all 0 when the window is the whole crop). */
  corners: Int16Array;
}

/**
 * Writes a window of one crop, normalised, into `out` at `offset`: row y, column x of the result is pixel
 * (top + y, left + x') of the crop (cropWidth pixels wide), x' = width − 1 − x when mirrored, else x: the window is
 * cut first, then mirrored, as the PyTorch port's random crop and flip do.
 */
function writeCrop(
  crop: Uint8Array,
  cropWidth: number,
  out: Float32Array,
  offset: number,
  window: { height: number; width: number; top: number; left: number },
  flip: boolean,
): void {
  const { height, width, top, left } = window;
  const row = width * 3;
  for (let y = 0, o = offset; y < height; y++, o += row) {
    const s = ((top + y) * cropWidth + left) * 3;
    if (!flip) {
      for (let k = 0; k < row; k++) out[o + k] = NORMALISED[crop[s + k]];
      continue;
    }
    for (let x = 0; x < width; x++) {
      const si = s + (width - 1 - x) * 3, d = o + x * 3;
      out[d] = NORMALISED[crop[si]];
      out[d + 1] = NORMALISED[crop[si + 1]];
      out[d + 2] = NORMALISED[crop[si + 2]];
    }
  }
}

/** The batch a plan describes, as the float32 data of an [N, height, width, 3] tensor (the work a store worker does). */
export function assembleBatch(source: CropSource, plan: BatchPlan): Float32Array {
  const size = plan.height * plan.width * 3;
  const out = new Float32Array(plan.indices.length * size);
  const crop = new Uint8Array(source.height * source.width * 3);
  plan.indices.forEach((i, n) => {
    source.read(i, crop);
    const window = { height: plan.height, width: plan.width, top: plan.corners[2 * n], left: plan.corners[2 * n + 1] };
    writeCrop(crop, source.width, out, n * size, window, plan.flips[n] === 1);
  });
  return out;
}
