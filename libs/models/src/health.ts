/** −ln(FLT_MIN): the loss a float32 softmax reports once the target probability underflows (the field's "loss = 87.3"). */
export const LOSS_UNDERFLOW = -Math.log(1.17549435e-38);

export type HealthKind = 'non-finite' | 'underflow-87' | 'stuck-at-ln-c';

export class TrainingHealthError extends Error {
  constructor(
    readonly kind: HealthKind,
    readonly iteration: number,
    message: string,
  ) {
    super(`training stopped at iteration ${iteration} (${kind}): ${message}`);
    this.name = 'TrainingHealthError';
  }
}

export interface HealthOptions {
  /** Iterations the loss must sit at ln(C) before the run is declared collapsed; default 500. */
  stuckWindow?: number;
  /** Relative distance from ln(C) that counts as "at ln(C)"; default 0.02. */
  stuckTolerance?: number;
}

export interface HealthSample {
  iteration: number;
  loss: number;
  gradNorm: number;
  featureNorm: number;
  lr: number;
  lambda: number | null;
}

/** Watches per-iteration figures for the failure modes of margin-loss training and names them. */
export class HealthMonitor {
  private readonly lnC: number;
  private readonly window: number;
  private readonly tolerance: number;
  private atLnC = 0;

  constructor(numClasses: number, options: HealthOptions = {}) {
    this.lnC = Math.log(numClasses);
    this.window = options.stuckWindow ?? 500;
    this.tolerance = options.stuckTolerance ?? 0.02;
  }

  get state(): { atLnC: number } {
    return { atLnC: this.atLnC };
  }
  set state(s: { atLnC: number }) {
    this.atLnC = s.atLnC;
  }

  /** Throws TrainingHealthError with a diagnosis, or returns normally. */
  check(s: HealthSample): void {
    const ctx = `lr ${s.lr}, λ ${s.lambda ?? 'n/a'}, grad norm ${s.gradNorm}, mean ‖x‖ ${s.featureNorm}`;
    if (!Number.isFinite(s.loss) || !Number.isFinite(s.gradNorm)) {
      throw new TrainingHealthError('non-finite', s.iteration, `loss ${s.loss} (${ctx}). The run diverged: enable gradient clipping (clipNorm) or lower the learning rate.`);
    }
    if (s.loss >= LOSS_UNDERFLOW - 0.5) {
      throw new TrainingHealthError(
        'underflow-87',
        s.iteration,
        `loss ${s.loss.toFixed(3)} reached −ln(FLT_MIN) = ${LOSS_UNDERFLOW.toFixed(2)} (where Caffe's loss saturates): target probabilities underflowed, the run diverged (${ctx}). Enable gradient clipping, lower the learning rate or anneal λ more slowly.`,
      );
    }
    this.atLnC = Math.abs(s.loss - this.lnC) <= this.tolerance * this.lnC ? this.atLnC + 1 : 0;
    if (this.atLnC >= this.window) {
      throw new TrainingHealthError(
        'stuck-at-ln-c',
        s.iteration,
        `loss has stayed at ln(C) = ${this.lnC.toFixed(3)} for ${this.atLnC} iterations (${ctx}): nothing is being learned` +
          (s.featureNorm < 0.1 ? '; the features collapsed (‖x‖ → 0)' : '') +
          '. Known causes: learning rate too low, or λ reaching its floor too early for the run length.',
      );
    }
  }
}
