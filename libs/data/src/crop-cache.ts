import { type AlignmentTemplate, type AlignOptions, resolveAlign } from './align';
import { buildCropStore, type BuildCropStoreOptions, type CropItem, cropStoreKey, type CropStoreStatus } from './crop-store';
import { imageSha256 } from './datasets';
import type { Skipped } from './errors';

export type { CropItem };

/** Aligned crops of a list of images held in memory, in item order (minus skipped items): a crop store read whole. */
export interface CropSet {
  key: string;
  height: number;
  width: number;
  /** The template the crops were aligned to (part of the key). */
  template: AlignmentTemplate;
  /** kept.length × height × width × 3 bytes, RGB. */
  data: Uint8Array;
  /** Index in the input items of each stored crop. */
  kept: Int32Array;
  /** Items left out under onBad 'skip' (recorded in the store, so a hit reports them too). */
  skipped: Skipped[];
  /** See CropStore.status. */
  status: CropStoreStatus;
  /** Why damaged shards were rebuilt, when status is 'rebuilt'. */
  corruption?: string;
  /** The store folder. */
  dir: string;
}

/** The crop store key of `items` (see cropStoreKey), hashing files whose items carry no sha256. */
export function cropCacheKey(imageDir: string, items: readonly CropItem[], align: Partial<AlignOptions> = {}): string {
  return cropStoreKey(items.map((it) => imageSha256(imageDir, it)), items, resolveAlign(align));
}

export type LoadCropsOptions = Omit<BuildCropStoreOptions, 'onProgress'>;

/**
 * Aligned crops for `items` in memory: their crop store (buildCropStore: built, resumed or reused, damaged shards
 * rebuilt) read whole. For sets that fit in memory (LFW, tests); training streams from the store instead.
 */
export async function loadCrops(imageDir: string, items: readonly CropItem[], opts: LoadCropsOptions = {}): Promise<CropSet> {
  const store = await buildCropStore(imageDir, items, opts);
  try {
    return {
      key: store.key,
      height: store.height,
      width: store.width,
      template: store.template,
      data: store.readRange(0, store.count),
      kept: store.kept,
      skipped: store.skipped,
      status: store.status,
      ...(store.problems.length ? { corruption: store.problems.join('; ') } : {}),
      dir: store.dir,
    };
  } finally {
    store.close();
  }
}
