import { parentPort } from 'node:worker_threads';
import { assembleBatch, type BatchPlan } from './batch-assembly';
import { CropStore } from './crop-store';

export interface StoreWorkerRequest {
  id: number;
  /** The crop store folder (opened once per worker and kept open). */
  dir: string;
  plan: BatchPlan;
}
export interface StoreWorkerReply {
  id: number;
  /** The batch's float32 data (transferred). */
  data?: Float32Array;
  error?: string;
}

const port = parentPort;
if (!port) throw new Error('store-worker-main must run in a worker thread');
const stores = new Map<string, CropStore>();
port.on('message', (req: StoreWorkerRequest) => {
  try {
    let store = stores.get(req.dir);
    if (!store) {
      store = CropStore.open(req.dir);
      stores.set(req.dir, store);
    }
    const data = assembleBatch(store, req.plan);
    port.postMessage({ id: req.id, data } satisfies StoreWorkerReply, [data.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ id: req.id, error: (e as Error).stack ?? String(e) } satisfies StoreWorkerReply);
  }
});
