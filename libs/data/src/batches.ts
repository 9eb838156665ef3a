import { Worker } from 'node:worker_threads';
import { Mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import { assembleBatch, type BatchPlan } from './batch-assembly';
import { CropStore, type CropSource } from './crop-store';
import type { StoreWorkerReply, StoreWorkerRequest } from './store-worker-main';

/** A training batch: what a BatchProvider hands the trainer, which disposes it. */
export interface Batch {
  /** [N, H, W, 3] float32, RGB, (p − 127.5)/128, augmented. */
  images: tf.Tensor4D;
  /** int32 [N] class labels. */
  labels: tf.Tensor1D;
}

/** Where training batches come from; its state is checkpointed so a resumed run sees the same batches. */
export interface BatchProvider {
  readonly numClasses: number;
  /**
   * True when every label the provider hands out is known to lie in [0, numClasses) (checked once, e.g. at
   * construction): the trainer then spares the loss its per-step read-back of the labels.
   */
  readonly labelsChecked?: boolean;
  /** The next batch; the trainer disposes it. */
  next(batchSize: number): Batch | Promise<Batch>;
  /** JSON-serialisable position (epoch, cursor, RNG states…). */
  getState(): unknown;
  setState(state: unknown): void;
}

export interface CropBatchOptions {
  /** Mirror each row with probability ½ (the authors' `mirror: true`); default true. */
  mirror?: boolean;
  /**
   * Random-crop augmentation: each row is a window of this size at a uniformly random place in its crop (the crops
   * then carry a margin: the PyTorch port aligns to 116×100 with the template moved by 2 px and trains on random
   * 112×96 windows). Default: the whole crop.
   */
  window?: { height: number; width: number };
  /** Batches prepared ahead on worker threads (CropStore sources only; 0: on this thread, when asked); default 2. */
  prefetch?: number;
}

export interface CropBatchProviderState {
  epoch: number;
  cursor: number;
  order: number[];
  /** States of the order, mirror and window generators. */
  rng: number;
  flipRng: number;
  windowRng: number;
}

/** A provider's position: its state, holding the order by reference (epochs replace the order array, never change it). */
type Position = CropBatchProviderState;

interface Planned {
  batchSize: number;
  plan: BatchPlan;
  labels: Int32Array;
  /** The position after this batch. */
  after: Position;
  /** The batch's data, being assembled on a worker thread. */
  data: Promise<Float32Array> | null;
}

/**
 * Training batches from crops (a CropStore on disk, or crops in memory): the order is reshuffled every epoch and a
 * batch may span two epochs; each row is mirrored with probability ½ and optionally cut to a random window. The
 * order, mirror and window draws come from three Mulberry32 generators seeded from the run's seed; the first two reproduce what the
 * in-memory provider and the trainer drew before the store existed, so cpu-profile runs see the same batches. With
 * a CropStore, batches are read and normalised on worker threads `prefetch` batches ahead, so memory holds a few
 * batches, not the dataset; the checkpointed state is the position after the batches handed out.
 */
export class CropBatchProvider implements BatchProvider {
  /** The labels were range-checked at construction. */
  readonly labelsChecked = true;
  private readonly mirror: boolean;
  private readonly window: { height: number; width: number };
  private readonly prefetch: number;
  private readonly orderRng: Mulberry32;
  private readonly flipRng: Mulberry32;
  private readonly windowRng: Mulberry32;
  private epoch = 0;
  private cursor = 0;
  private order: number[];
  /** Where the batches handed out end: what getState reports. */
  private consumed: Position;
  private readonly queue: Planned[] = [];
  private workers: StoreWorkers | null = null;

  constructor(
    private readonly source: CropSource,
    private readonly labels: Int32Array,
    readonly numClasses: number,
    seed = 0,
    options: CropBatchOptions = {},
  ) {
    if (labels.length !== source.count) throw new Error(`CropBatchProvider: ${labels.length} labels for ${source.count} crops`);
    if (source.count === 0) throw new Error('CropBatchProvider: no crops to train on');
    const bad = labels.findIndex((l) => l < 0 || l >= numClasses || !Number.isInteger(l));
    if (bad >= 0) throw new Error(`CropBatchProvider: label ${labels[bad]} of crop ${bad} is outside [0, ${numClasses})`);
    this.mirror = options.mirror ?? true;
    this.window = options.window ?? { height: source.height, width: source.width };
    const { height, width } = this.window;
    if (![height, width].every((v) => Number.isInteger(v) && v > 0) || height > source.height || width > source.width) {
      throw new Error(`CropBatchProvider: the window ${height}×${width} must be positive integers within the ${source.height}×${source.width} crops`);
    }
    this.prefetch = source instanceof CropStore ? options.prefetch ?? 2 : 0;
    this.orderRng = new Mulberry32(seed);
    this.flipRng = new Mulberry32(seed);
    this.windowRng = new Mulberry32((seed ^ 0x5f3759df) >>> 0);
    this.order = this.orderRng.shuffle([...labels.keys()]);
    this.consumed = this.position();
  }

  private position(): Position {
    return { epoch: this.epoch, cursor: this.cursor, order: this.order, rng: this.orderRng.state, flipRng: this.flipRng.state, windowRng: this.windowRng.state };
  }

  private moveTo(p: Position): void {
    this.epoch = p.epoch;
    this.cursor = p.cursor;
    this.order = p.order;
    this.orderRng.state = p.rng;
    this.flipRng.state = p.flipRng;
    this.windowRng.state = p.windowRng;
  }

  /** The next batch's plan, advancing the planning position. */
  private plan(batchSize: number): Planned {
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`CropBatchProvider: batchSize must be a positive integer, got ${batchSize}`);
    const indices = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) {
      if (this.cursor === this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = this.orderRng.shuffle([...this.labels.keys()]);
      }
      indices[i] = this.order[this.cursor++];
    }
    const flips = new Uint8Array(batchSize);
    if (this.mirror) for (let i = 0; i < batchSize; i++) flips[i] = this.flipRng.next() < 0.5 ? 1 : 0;
    const corners = new Int16Array(2 * batchSize);
    const slack = [this.source.height - this.window.height, this.source.width - this.window.width];
    if (slack[0] > 0 || slack[1] > 0) for (let k = 0; k < corners.length; k++) corners[k] = Math.floor(this.windowRng.next() * (slack[k % 2] + 1));
    const plan: BatchPlan = { indices, flips, corners, ...this.window };
    return { batchSize, plan, labels: Int32Array.from(indices, (i) => this.labels[i]), after: this.position(), data: null };
  }

  private fill(batchSize: number): void {
    while (this.queue.length < Math.max(1, this.prefetch)) {
      const planned = this.plan(batchSize);
      if (this.prefetch > 0) {
        this.workers ??= new StoreWorkers((this.source as CropStore).dir, Math.min(this.prefetch, 2));
        planned.data = this.workers.assemble(planned.plan);
      }
      this.queue.push(planned);
    }
  }

  next(batchSize: number): Batch | Promise<Batch> {
    if (this.queue.length > 0 && this.queue[0].batchSize !== batchSize) this.discardPrefetched();
    this.fill(batchSize);
    const planned = this.queue.shift()!;
    this.consumed = planned.after;
    const shape: [number, number, number, number] = [batchSize, this.window.height, this.window.width, 3];
    const batch = (data: Float32Array): Batch => ({ images: tf.tensor4d(data, shape), labels: tf.tensor1d(planned.labels, 'int32') });
    if (!planned.data) return batch(assembleBatch(this.source, planned.plan));
    this.fill(batchSize); // keep the workers busy while the caller trains on this batch
    return planned.data.then(batch);
  }

  /** Forget batches planned ahead: planning resumes where the handed-out batches end. */
  private discardPrefetched(): void {
    for (const p of this.queue) p.data?.catch(() => undefined);
    this.queue.length = 0;
    this.moveTo(this.consumed);
  }

  getState(): CropBatchProviderState {
    const c = this.consumed;
    return { epoch: c.epoch, cursor: c.cursor, order: [...c.order], rng: c.rng, flipRng: c.flipRng, windowRng: c.windowRng };
  }

  setState(state: unknown): void {
    const s = state as CropBatchProviderState;
    const numbers = s && [s.epoch, s.cursor, s.rng, s.flipRng, s.windowRng].every((v) => Number.isInteger(v));
    if (!numbers || !Array.isArray(s.order) || s.order.length !== this.labels.length) {
      throw new Error('CropBatchProvider.setState: the state does not belong to this dataset (or comes from an older provider)');
    }
    this.discardPrefetched();
    this.moveTo({ ...s, order: [...s.order] });
    this.consumed = this.position();
  }

  /** Stops the worker threads (the provider can still be used: they start again when needed). */
  async close(): Promise<void> {
    this.discardPrefetched();
    await this.workers?.close();
    this.workers = null;
  }
}

/** Worker threads that read crops from one store and assemble batches (store-worker-main.ts), round robin. */
class StoreWorkers {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { worker: Worker; done: (d: Float32Array) => void; fail: (e: Error) => void }>();
  private nextId = 0;
  private closing = false;

  constructor(
    private readonly dir: string,
    size: number,
  ) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(new URL('./store-worker.mjs', import.meta.url));
      w.on('message', (m: StoreWorkerReply) => {
        const job = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.refWhileBusy(w);
        if (m.error !== undefined) job?.fail(new Error(`crop store worker (${this.dir}): ${m.error}`));
        else job?.done(m.data!);
      });
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (!this.closing) this.failAll(new Error(`crop store worker exited with code ${code}`));
      });
      w.unref();
      return w;
    });
  }

  assemble(plan: BatchPlan): Promise<Float32Array> {
    const id = this.nextId++;
    const request: StoreWorkerRequest = { id, dir: this.dir, plan };
    const worker = this.workers[id % this.workers.length];
    return new Promise((done, fail) => {
      this.pending.set(id, { worker, done, fail });
      this.refWhileBusy(worker);
      worker.postMessage(request);
    });
  }

  /** A worker with a batch to assemble keeps the process alive (someone awaits it); an idle one does not. */
  private refWhileBusy(w: Worker): void {
    if ([...this.pending.values()].some((job) => job.worker === w)) w.ref();
    else w.unref();
  }

  private failAll(e: Error): void {
    for (const job of this.pending.values()) job.fail(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.failAll(new Error(`crop store worker (${this.dir}): closed before the batch was assembled`));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
