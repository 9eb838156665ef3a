/**
 * λ annealing of the A-Softmax target logit, as in the authors' Caffe layer and training files:
 *   λ(it) = max(lambdaMin, base · (1 + gamma · it)^(−power)).
 * The layer increments its counter before each forward, so the first training forward uses it = 1.
 */
export interface LambdaSchedule {
  base: number;
  gamma: number;
  power: number;
  lambdaMin: number;
}

/** The authors' values (sphereface_model.prototxt): base 1000, gamma 0.12, power 1, lambda_min 5. */
export const SPHEREFACE_LAMBDA_SCHEDULE: Readonly<LambdaSchedule> = Object.freeze({
  base: 1000,
  gamma: 0.12,
  power: 1,
  lambdaMin: 5,
});

/** Either a fixed λ or an annealing schedule; partial schedules are completed with the authors' values. */
export type LambdaOption = number | Partial<LambdaSchedule>;

export function resolveLambda(option: LambdaOption | undefined): number | LambdaSchedule {
  if (option === undefined) return { ...SPHEREFACE_LAMBDA_SCHEDULE };
  if (typeof option === 'number') {
    if (!(option >= 0) || !Number.isFinite(option)) {
      throw new RangeError(`lambda must be a finite number ≥ 0 or a schedule; got ${option}`);
    }
    return option;
  }
  const schedule = { ...SPHEREFACE_LAMBDA_SCHEDULE, ...option };
  for (const key of Object.keys(option)) {
    if (!(key in SPHEREFACE_LAMBDA_SCHEDULE)) {
      throw new RangeError(`unknown lambda schedule field '${key}'; expected base, gamma, power, lambdaMin`);
    }
  }
  for (const [key, value] of Object.entries(schedule)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`lambda schedule field '${key}' must be a finite number ≥ 0; got ${value}`);
    }
  }
  return schedule;
}

/** λ at a training iteration for a schedule (default: the authors'), or a fixed λ. */
export function lambdaAt(iteration: number, schedule: LambdaOption = SPHEREFACE_LAMBDA_SCHEDULE): number {
  if (!Number.isFinite(iteration) || iteration < 0) {
    throw new RangeError(`iteration must be a finite number ≥ 0; got ${iteration}`);
  }
  const resolved = resolveLambda(schedule);
  if (typeof resolved === 'number') return resolved;
  const { base, gamma, power, lambdaMin } = resolved;
  return Math.max(lambdaMin, base * Math.pow(1 + gamma * iteration, -power));
}

/** First iteration at which the schedule sits at its floor lambdaMin (Infinity if it never does). */
export function lambdaFloorIteration(schedule: Partial<LambdaSchedule> = SPHEREFACE_LAMBDA_SCHEDULE): number {
  const { base, gamma, power, lambdaMin } = { ...SPHEREFACE_LAMBDA_SCHEDULE, ...schedule };
  if (base <= lambdaMin) return 0;
  if (gamma === 0 || power === 0 || lambdaMin === 0) return Infinity;
  // base·(1+γ·it)^(−p) ≤ λmin  ⇔  it ≥ ((base/λmin)^(1/p) − 1)/γ
  return Math.ceil((Math.pow(base / lambdaMin, 1 / power) - 1) / gamma);
}
