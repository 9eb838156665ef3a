import type { BatchProvider } from '@sphereface/data';
import * as tf from '@tensorflow/tfjs';
import { CheckpointError, latestCheckpoint, listCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoints';
import { HealthMonitor, TrainingHealthError, type HealthOptions } from './health';
import { findMarginHead, type MarginHead } from './margin-head';
import { Progress, type ProgressMode } from './progress';
import { sgdMomentum, sumOfSquares } from './sgd';
import { appendTrainLog, repairTrainLog } from './train-log';

/**
 * Default global-norm clip. §7 of the reference notes: at lr 0.1 an unclipped A-Softmax run diverged while a clipped
 * one trained. Measured here (SphereFace-4 ×0.25, AT&T 56×48, lr 0.1, 200 iterations): clip 10 diverged (loss > 87 at
 * iteration 123), clips 3 and 1 trained to 100 % batch accuracy (94–97.5 % closed-set). 3 is the loosest that trained.
 */
export const DEFAULT_CLIP_NORM = 3;

export interface TrainerConfig {
  batchSize: number;
  maxIter: number;
  baseLr?: number;
  /** Iterations at which lr is multiplied by lrGamma (Caffe multistep). */
  lrSteps?: number[];
  lrGamma?: number;
  momentum?: number;
  weightDecay?: number;
  /** Caffe lr_mult / decay_mult for biases of the convs and FC layers (the prototxts: 2 and 0). */
  biasLrMult?: number;
  biasDecayMult?: number;
  /**
   * Where the learning rate sits in the momentum update. 'caffe' (default): v ← μv + lr·g; w ← w − v, so after a
   * learning-rate step the velocity still carries steps taken at the old rate. 'pytorch' (torch.optim.SGD):
   * v ← μv + g; w ← w − lr·v, so the whole velocity moves at the new rate at once. The two agree while lr is
   * constant; 'pytorch' is implemented as Caffe's update with the velocity rescaled by lr_new/lr_old at each step.
   */
  momentumStyle?: 'caffe' | 'pytorch';
  /** Global-norm clip of the loss gradient before weight decay; null disables. Default DEFAULT_CLIP_NORM. */
  clipNorm?: number | null;
  checkpointDir?: string;
  /** Checkpoint every N iterations (and at the end) when checkpointDir is set; default 1000. */
  checkpointEvery?: number;
  /** Checkpoints kept, at least 2 (the previous one is the fallback when the newest is damaged); default 2. */
  keepCheckpoints?: number;
  /** JSONL file receiving one record per iteration, and event lines (see train-log.ts). */
  logFile?: string;
  progress?: ProgressMode;
  health?: HealthOptions;
}

export interface IterationRecord {
  iteration: number;
  loss: number;
  /** Top-1 on the margin-free logits of the training batch. */
  accuracy: number;
  lambda: number | null;
  lr: number;
  /** Mean angle (degrees) between features and their class weights. */
  meanTargetAngle: number;
  meanFeatureNorm: number;
  gradNorm: number;
  clipped: boolean;
  imagesPerSec: number;
  stepSeconds: number;
}

interface Param {
  variable: tf.Variable;
  name: string;
  lrMult: number;
  decayMult: number;
  velocity: tf.Variable;
}

/** What Trainer.restoreNewest did: the checkpoint restored (null: none was usable) and the ones it had to pass over. */
export interface RestoreResult {
  restored: string | null;
  /** Damaged or unreadable checkpoints (or latest.json), newest first, with the reason naming the file. */
  skipped: Array<{ path: string; reason: string }>;
}

/**
 * SGD with momentum and weight decay applied as Caffe applies them (v ← μv + lr·lr_mult·(g + wd·decay_mult·w);
 * w ← w − v), multistep lr, the iteration counter driving λ, optional global-norm clipping, atomic checkpoints,
 * health checks and JSONL logging.
 */
export class Trainer {
  readonly head: MarginHead;
  readonly config: Required<Omit<TrainerConfig, 'checkpointDir' | 'logFile' | 'health'>> & Pick<TrainerConfig, 'checkpointDir' | 'logFile' | 'health'>;
  /** Completed iterations. */
  iteration = 0;
  private readonly params: Param[];
  private readonly monitor: HealthMonitor;
  /** Whether this trainer has made sure the log ends with a whole line (once, before its first append). */
  private logChecked = false;

  constructor(
    readonly backbone: tf.LayersModel,
    readonly headModel: tf.LayersModel,
    readonly provider: BatchProvider,
    config: TrainerConfig,
  ) {
    this.config = {
      baseLr: 0.1,
      lrSteps: [],
      lrGamma: 0.1,
      momentum: 0.9,
      weightDecay: 5e-4,
      biasLrMult: 2,
      biasDecayMult: 0,
      momentumStyle: 'caffe',
      clipNorm: DEFAULT_CLIP_NORM,
      checkpointEvery: 1000,
      keepCheckpoints: 2,
      progress: 'auto',
      ...config,
    };
    if (this.config.momentumStyle !== 'caffe' && this.config.momentumStyle !== 'pytorch') {
      throw new Error(`Trainer: momentumStyle must be 'caffe' or 'pytorch', got ${String(this.config.momentumStyle)}`);
    }
    if (!Number.isInteger(this.config.keepCheckpoints) || this.config.keepCheckpoints < 2) {
      throw new Error(`Trainer: keepCheckpoints must be an integer ≥ 2 (the previous checkpoint is the fallback when the newest is damaged), got ${this.config.keepCheckpoints}`);
    }
    this.head = findMarginHead(headModel);
    if (this.head.numClasses !== provider.numClasses) {
      throw new Error(`Trainer: head has ${this.head.numClasses} classes but the batch provider has ${provider.numClasses}`);
    }
    this.monitor = new HealthMonitor(provider.numClasses, this.config.health);
    const trainable = [...backbone.trainableWeights, ...headModel.trainableWeights];
    this.params = trainable.map((w) => {
      const isBias = w.originalName.endsWith('/bias');
      const variable = w.read() as tf.Variable;
      return {
        variable,
        name: w.originalName,
        lrMult: isBias ? this.config.biasLrMult : 1,
        decayMult: isBias ? this.config.biasDecayMult : 1,
        velocity: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
      };
    });
  }

  /** Caffe multistep: base_lr · γ^(number of step values ≤ iter), iter counted from 0. */
  learningRate(iter = this.iteration): number {
    return this.config.baseLr * Math.pow(this.config.lrGamma, this.config.lrSteps.filter((s) => iter >= s).length);
  }

  /** λ of the loss at the next forward (the Caffe layer counts forwards from 1), or null when the loss has none. */
  lambda(iter = this.iteration): number | null {
    return this.head.marginLoss.lambdaAt(iter + 1);
  }

  /** One SGD iteration; returns its log record. Throws TrainingHealthError before updating when the step is unhealthy. */
  async step(): Promise<IterationRecord> {
    const t0 = performance.now();
    const batch = await this.provider.next(this.config.batchSize);
    const iter = this.iteration;
    const lr = this.learningRate(iter);
    const lambda = this.lambda(iter);

    // A provider that range-checked its labels once (CropBatchProvider, at construction) spares the loss a per-step
    // read-back of them.
    const labelsChecked = this.provider.labelsChecked === true;
    const { grads, stats } = tf.tidy(() => {
      let metrics: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const features = this.backbone.apply(batch.images, { training: true }) as tf.Tensor2D;
        // The metrics come from the fused loss kernel where the backend has one, else from ops off the loss's path.
        const { loss, metrics: m } = this.head.lossAndMetrics({ features, labels: batch.labels, iteration: iter + 1, labelsChecked });
        metrics = [m.accuracy, m.meanTargetAngle, m.meanFeatureNorm];
        return loss;
      }, this.params.map((p) => p.variable));
      const gradNorm = tf.sqrt(sumOfSquares(Object.values(grads)));
      const stats = tf.stack([value, ...metrics, gradNorm]);
      tf.dispose(metrics); // kept out of variableGrads' scope, so this tidy does not own them
      return { grads, stats };
    });
    tf.dispose([batch.images, batch.labels]);
    const [loss, accuracy, meanTargetAngle, meanFeatureNorm, gradNorm] = Array.from(await stats.data());
    stats.dispose();
    try {
      this.monitor.check({ iteration: iter + 1, loss, gradNorm, featureNorm: meanFeatureNorm, lr, lambda });
    } catch (e) {
      tf.dispose(grads);
      if (e instanceof TrainingHealthError) {
        this.log({ iteration: iter + 1, loss, accuracy, lambda, lr, meanTargetAngle, meanFeatureNorm, gradNorm, health: e.kind, diagnosis: e.message });
      }
      throw e;
    }
    const clip = this.config.clipNorm;
    const scale = clip !== null && gradNorm > clip ? clip / gradNorm : 1;
    if (this.config.momentumStyle === 'pytorch' && iter > 0) {
      const previousLr = this.learningRate(iter - 1);
      if (previousLr !== lr) this.rescaleVelocities(lr / previousLr);
    }
    this.applyUpdate(grads, lr, scale);
    tf.dispose(grads);
    this.iteration = iter + 1;
    const stepSeconds = (performance.now() - t0) / 1000;
    const record: IterationRecord = {
      iteration: this.iteration,
      loss,
      accuracy,
      lambda,
      lr,
      meanTargetAngle,
      meanFeatureNorm,
      gradNorm,
      clipped: scale < 1,
      imagesPerSec: this.config.batchSize / stepSeconds,
      stepSeconds,
    };
    this.log(record);
    return record;
  }

  private log(entry: object): void {
    const file = this.config.logFile;
    if (!file) return;
    if (!this.logChecked) {
      // A line an earlier process was writing when the disk filled up would otherwise run into this one.
      this.logChecked = true;
      const torn = repairTrainLog(file);
      if (torn !== null) appendTrainLog(file, { event: 'torn-line-dropped', bytes: Buffer.byteLength(torn) });
    }
    appendTrainLog(file, entry);
  }

  private rescaleVelocities(factor: number): void {
    tf.tidy(() => {
      for (const p of this.params) p.velocity.assign(tf.mul(p.velocity, factor));
    });
  }

  private applyUpdate(grads: tf.NamedTensorMap, lr: number, scale: number): void {
    const { momentum, weightDecay } = this.config;
    tf.tidy(() => {
      const updates = this.params.map((p) => ({
        w: p.variable,
        g: grads[p.variable.name],
        v: p.velocity,
        c: { lr: lr * p.lrMult, momentum, decay: weightDecay * p.decayMult, scale },
      }));
      sgdMomentum(updates).forEach(([w, v], i) => {
        this.params[i].velocity.assign(v);
        this.params[i].variable.assign(w);
      });
    });
    // The Caffe backward ignores the weight normalisation; the layer re-normalises its stored weights instead.
    if (this.head.marginLoss.renormalizeWeightsAfterUpdate) this.head.renormalizeWeights();
  }

  /** Train until maxIter (or `until`), checkpointing on schedule. Returns the records of this call. */
  async run(options: { until?: number; onIteration?: (r: IterationRecord) => void } = {}): Promise<IterationRecord[]> {
    const until = Math.min(options.until ?? this.config.maxIter, this.config.maxIter);
    const progress = new Progress(this.config.maxIter, this.iteration, this.config.progress);
    const records: IterationRecord[] = [];
    try {
      while (this.iteration < until) {
        const r = await this.step();
        records.push(r);
        progress.update(r);
        options.onIteration?.(r);
        const due = this.iteration % this.config.checkpointEvery === 0 || this.iteration === this.config.maxIter;
        if (this.config.checkpointDir && due) await this.saveCheckpoint();
      }
    } finally {
      progress.done();
    }
    return records;
  }

  /** Writes a checkpoint of the current state (see checkpoints.ts) and returns its folder. */
  async saveCheckpoint(dir = this.config.checkpointDir): Promise<string> {
    if (!dir) throw new Error('saveCheckpoint: no checkpointDir configured');
    const contents = {
      iteration: this.iteration,
      data: this.provider.getState(),
      health: this.monitor.state,
      config: this.config,
      backbone: this.backbone,
      headModel: this.headModel,
      velocities: this.params.map((p) => ({ name: p.name, tensor: p.velocity })),
    };
    return writeCheckpoint(dir, contents, this.config.keepCheckpoints);
  }

  /**
   * Restores weights, optimizer state, iteration, RNG and data position from a checkpoint folder. Everything is read
   * and checked first: a damaged checkpoint throws a CheckpointError naming the file and leaves the trainer as it was.
   */
  async restore(path: string): Promise<void> {
    const loaded = await readCheckpoint(path, { backbone: this.backbone, headModel: this.headModel, paramNames: this.params.map((p) => p.name) });
    try {
      const { state } = loaded;
      try {
        this.provider.setState(state.data); // first: it may refuse the state, and nothing else has changed yet
      } catch (error) {
        throw new CheckpointError(`${path}/state.json`, `its data position does not fit this batch provider: ${(error as Error).message}`, { cause: error });
      }
      this.backbone.setWeights(loaded.backbone);
      this.headModel.setWeights(loaded.head);
      for (const p of this.params) p.velocity.assign(loaded.velocities[p.name]);
      this.iteration = state.iteration;
      this.monitor.state = state.health;
    } finally {
      loaded.dispose();
    }
    this.log({ event: 'resume', from: path, iteration: this.iteration });
  }

  /**
   * Restores the newest usable checkpoint in `dir`: the one latest.json names, else (damaged, or latest.json
   * unreadable) the next older one, and so on. Returns what was restored (null: nothing usable, the trainer is
   * unchanged) and what was passed over and why.
   */
  async restoreNewest(dir = this.config.checkpointDir): Promise<RestoreResult> {
    if (!dir) throw new Error('restoreNewest: no checkpointDir configured');
    const skipped: RestoreResult['skipped'] = [];
    let latest: string | null = null;
    try {
      latest = latestCheckpoint(dir);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push({ path: error.file, reason: error.message });
    }
    const folders = listCheckpoints(dir);
    // Older than the one latest.json names: newer folders belong to an attempt it superseded.
    const candidates = latest ? [latest, ...folders.filter((f) => f < latest!)] : folders;
    for (const path of candidates) {
      try {
        await this.restore(path);
        return { restored: path, skipped };
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        skipped.push({ path, reason: error.message });
      }
    }
    return { restored: null, skipped };
  }

  /** Frees the optimizer state (the models belong to the caller). */
  dispose(): void {
    for (const p of this.params) p.velocity.dispose();
  }
}
