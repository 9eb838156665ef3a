import { Mulberry32 } from '@sphereface/common';
import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchProvider } from './trainer';

export interface ArrayProviderState {
  epoch: number;
  cursor: number;
  order: number[];
  rng: number;
}

/** An in-memory BatchProvider: images [N,H,W,C] as one Float32Array, reshuffled every epoch with a seeded RNG. */
export class ArrayBatchProvider implements BatchProvider {
  private readonly rng: Mulberry32;
  private readonly imageSize: number;
  private order: number[];
  private epoch = 0;
  private cursor = 0;

  constructor(
    private readonly images: Float32Array,
    private readonly labels: Int32Array,
    private readonly shape: [number, number, number],
    readonly numClasses: number,
    seed = 0,
  ) {
    this.imageSize = shape[0] * shape[1] * shape[2];
    if (images.length !== labels.length * this.imageSize) {
      throw new Error(`ArrayBatchProvider: ${images.length} values do not make ${labels.length} images of ${shape.join('x')}`);
    }
    const bad = labels.findIndex((l) => l < 0 || l >= numClasses || !Number.isInteger(l));
    if (bad >= 0) throw new Error(`ArrayBatchProvider: label ${labels[bad]} at index ${bad} is outside [0, ${numClasses})`);
    this.rng = new Mulberry32(seed);
    this.order = this.rng.shuffle([...labels.keys()]);
  }

  next(batchSize: number): Batch {
    const x = new Float32Array(batchSize * this.imageSize);
    const y = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) {
      if (this.cursor === this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = this.rng.shuffle([...this.labels.keys()]);
      }
      const k = this.order[this.cursor++];
      x.set(this.images.subarray(k * this.imageSize, (k + 1) * this.imageSize), i * this.imageSize);
      y[i] = this.labels[k];
    }
    return { images: tf.tensor4d(x, [batchSize, ...this.shape]), labels: tf.tensor1d(y, 'int32') };
  }

  getState(): ArrayProviderState {
    return { epoch: this.epoch, cursor: this.cursor, order: [...this.order], rng: this.rng.state };
  }

  setState(state: unknown): void {
    const s = state as ArrayProviderState;
    if (!s || !Array.isArray(s.order) || s.order.length !== this.labels.length) throw new Error('ArrayBatchProvider.setState: state does not belong to this dataset');
    this.epoch = s.epoch;
    this.cursor = s.cursor;
    this.order = [...s.order];
    this.rng.state = s.rng;
  }
}
