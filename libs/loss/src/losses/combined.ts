import * as tf from '@tensorflow/tfjs';
import { ScaledCosineLoss, type ScaledCosineOptions } from '../scaled-cosine';
import type { TargetTerms } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { registerMarginLoss } from '../registry';
import { requireFinite, requirePositive } from '../options';

export interface CombinedMarginOptions extends ScaledCosineOptions {
  /** Multiplicative angular margin (SphereFace-style, real-valued). */
  m1: number;
  /** Additive angular margin (ArcFace-style, radians). */
  m2: number;
  /** Additive cosine margin (CosFace-style). */
  m3: number;
}

/**
 * Clamp of cos θ before arccos: arccos' is infinite at ±1. Where |cos θ| > 1 − 1e-6 (θ < 0.08°) the
 * target's gradient through θ is cut; the logit value changes by less than s·1.5e-3.
 */
const ARCCOS_MARGIN = 1e-6;

/**
 * The combined margin of the ArcFace paper: target logit s·(cos(m1·θ + m2) − m3). The angle is capped at
 * π so the target never rises again past it (the original MXNet code had no cap, which makes the target
 * non-monotone for hard samples).
 */
export class CombinedMarginLoss extends ScaledCosineLoss<CombinedMarginOptions> {
  static readonly lossName = 'combined';

  constructor(options: CombinedMarginOptions) {
    super(options);
    requirePositive(this.name, 'm1', options.m1);
    requireFinite(this.name, 'm2', options.m2, 0);
    requireFinite(this.name, 'm3', options.m3, 0);
  }

  protected override targetLogit(terms: TargetTerms): tf.Tensor1D {
    const { s, m1, m2, m3 } = this.options;
    const theta = tf.acos(tf.clipByValue(terms.cosine, -1 + ARCCOS_MARGIN, 1 - ARCCOS_MARGIN));
    const shifted = tf.minimum(tf.add(tf.mul(theta, m1), m2), Math.PI);
    return tf.mul(tf.sub(tf.cos(shifted), m3), s) as tf.Tensor1D;
  }

  /** Fused: s·cos θ_j, target s·(cos(min(m1·θ_y + m2, π)) − m3) with the same clip before arccos. */
  override fusedSpec(): MarginSoftmaxSpec {
    const { s, m1, m2, m3 } = this.options;
    return { scale: 'fixed', s, target: { kind: 'combined', m1, m2, m3 } };
  }
}

registerMarginLoss<CombinedMarginOptions>({
  loss: CombinedMarginLoss,
  summary: 'Combined margin s·(cos(m1·θ + m2) − m3): SphereFace, ArcFace and CosFace margins in one',
  reference: 'Deng et al., ArcFace, CVPR 2019, §3.3 (combined margin; CM1 = (1, 0.3, 0.2))',
  defaults: { s: 64, m1: 1, m2: 0.3, m3: 0.2 },
});
