import { type AlignOptions, alignFace, centreCrop, DEFAULT_ALIGN, type Point } from './align';
import { decodeImageFile } from './decode';
import { DataError, type Skipped } from './errors';

/** One image to turn into a crop: decode, then align by landmarks or centre-crop when there are none. */
export interface CropTask {
  path: string;
  landmarks: Point[] | null;
}

/** Crop bytes (height × width × 3, RGB) or the reason the input was bad. */
export type CropResult = { ok: true; data: Uint8Array } | { ok: false; skipped: Skipped };

export function cropImage(task: CropTask, align: Required<AlignOptions> = DEFAULT_ALIGN): Uint8Array {
  const img = decodeImageFile(task.path);
  return (task.landmarks ? alignFace(img, task.landmarks, align).image : centreCrop(img, align)).data;
}

/** cropImage with bad input (DataError) returned as a result instead of thrown. */
export function tryCropImage(task: CropTask, align: Required<AlignOptions>): CropResult {
  try {
    return { ok: true, data: cropImage(task, align) };
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    return { ok: false, skipped: { file: e.file, line: e.line, reason: e.reason } };
  }
}
