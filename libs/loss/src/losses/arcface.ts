import * as tf from '@tensorflow/tfjs';
import { ScaledCosineLoss, sineFromCosine, type ScaledCosineOptions } from '../scaled-cosine';
import type { TargetTerms } from '../margin-loss-base';
import type { MarginSoftmaxSpec } from '../fused';
import { registerMarginLoss } from '../registry';
import { requireFinite } from '../options';
import { selectAbove } from '../tensor-ops';

export interface ArcFaceOptions extends ScaledCosineOptions {
  /** Additive angular margin (radians), 0 ≤ m < π/2. */
  m: number;
  /**
   * What to do where θ + m would pass π (cos(θ+m) would rise again):
   * false (insightface's default): use cos θ − m·sin m when θ > π − m;
   * true ("easy margin"): apply the margin only where cos θ > 0.
   */
  easyMargin: boolean;
}

/** ArcFace (Deng et al., CVPR 2019): target logit s·cos(θ_y + m), computed as c·cos m − sin θ·sin m. */
export class ArcFaceLoss extends ScaledCosineLoss<ArcFaceOptions> {
  static readonly lossName = 'arcface';

  constructor(options: ArcFaceOptions) {
    super(options);
    const m = requireFinite(this.name, 'm', options.m, 0);
    if (m >= Math.PI / 2) throw new RangeError(`${this.name}: option 'm' must be < π/2; got ${m}`);
    if (typeof options.easyMargin !== 'boolean') throw new RangeError(`${this.name}: option 'easyMargin' must be a boolean`);
  }

  protected override targetLogit(terms: TargetTerms): tf.Tensor1D {
    const { s, m, easyMargin } = this.options;
    const c = terms.cosine;
    const withMargin = tf.sub(tf.mul(c, Math.cos(m)), tf.mul(sineFromCosine(c), Math.sin(m)));
    const target = easyMargin
      ? selectAbove(c, 0, withMargin, c)
      : selectAbove(c, Math.cos(Math.PI - m), withMargin, tf.sub(c, m * Math.sin(m)));
    return tf.mul(target, s) as tf.Tensor1D;
  }

  /** Fused: s·cos θ_j, target s·cos(θ_y + m) with the same fallbacks. */
  override fusedSpec(): MarginSoftmaxSpec {
    const { s, m, easyMargin } = this.options;
    return { scale: 'fixed', s, target: { kind: 'angular', m, easyMargin } };
  }
}

registerMarginLoss<ArcFaceOptions>({
  loss: ArcFaceLoss,
  summary: 'Additive angular margin: s·cos(θ + m) for the target class',
  reference: 'Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face Recognition, CVPR 2019',
  defaults: { s: 64, m: 0.5, easyMargin: false },
});
