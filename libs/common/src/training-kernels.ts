/**
 * The contract between the trainer (@sphereface/models) or the margin losses (@sphereface/loss) and a backend that fuses
 * their work (@sphereface/native): kernel names and their attributes. It lives here, below them, so that native needs
 * nothing from models or loss.
 *
 * A backend may register these kernels to run the optimizer's element-wise work in one pass per tensor, for all the
 * parameters in one kernel call. Without them the same arithmetic runs as separate tfjs ops: 7 full passes over every
 * weight per step, which a profile of SphereFace-4 on the native backend showed as 14–19 % of a step; and with one call
 * per tensor, a network of 15 small parameters spent more time entering kernels than in them.
 *
 * SGD_MOMENTUM_KERNEL: inputs w0, g0, v0, w1, g1, v1, … (weights, gradients, velocities of one shape per index);
 * attribute `coefficients`, one SgdCoefficients per index; outputs w0', v0', w1', v1', … (see @sphereface/models' sgd.ts).
 * SUM_OF_SQUARES_KERNEL: inputs x0, x1, …; output the float32 scalar Σ_t Σ_i x_ti², each tensor's sum accumulated in
 * double and rounded to float32, the tensors' sums then added in float32 in index order.
 */
export const SGD_MOMENTUM_KERNEL = 'SphereFaceSgdMomentum';
export const SUM_OF_SQUARES_KERNEL = 'SphereFaceSumOfSquares';

/** One parameter's update coefficients (Caffe SGD): an entry of SGD_MOMENTUM_KERNEL's `coefficients`. */
export interface SgdCoefficients {
  /** Learning rate × the parameter's lr multiplier. */
  lr: number;
  momentum: number;
  /** Weight decay × the parameter's decay multiplier (0: none). */
  decay: number;
  /** Gradient scale from global-norm clipping (1: none). */
  scale: number;
}

/**
 * The margin-softmax head in one kernel (@sphereface/loss's MarginLossBase calls it when the backend has it, else runs
 * tfjs ops): class-weight FC, the margin, mean softmax cross-entropy, its gradients with respect to the features, the
 * weights (and the bias), and the trainer's per-iteration metrics, from one call.
 *
 * Inputs: x [N, D] and w [D, C] float32, labels [N] int32, optional bias [C] float32. Attributes: a
 * MarginSoftmaxSpec. Outputs, in this order: loss (scalar), accuracy, mean target angle (degrees), mean feature norm
 * (scalars; see MarginSoftmaxSpec), then ∂loss/∂x [N, D], ∂loss/∂w [D, C], and ∂loss/∂bias [C] when a bias was given.
 * A label outside [0, C) throws a RangeError naming its row.
 */
export const MARGIN_SOFTMAX_KERNEL = 'SphereFaceMarginSoftmax';

/**
 * The target-class term t(cos θ_y) of a MarginSoftmaxSpec (θ ∈ [0, π] the angle between x and w_y):
 * - `none`: cos θ;
 * - `psi`: (λ·cos θ + ψ_m(θ))/(1 + λ), ψ_m(θ) = (−1)^k cos(mθ) − 2k on [kπ/m, (k+1)π/m] (A-Softmax, L-Softmax);
 * - `cosine`: cos θ − m (CosFace);
 * - `angular`: cos(θ + m), and past θ > π − m: cos θ − m·sin m; with `easyMargin`: cos(θ + m) where cos θ > 0, else
 *   cos θ (ArcFace; sin θ as √max(1 − cos²θ, 1e-6));
 * - `combined`: cos(min(m1·θ + m2, π)) − m3 (cos θ clipped to ±(1 − 1e-6) before arccos).
 */
export type MarginTarget =
  | { kind: 'none' }
  | { kind: 'psi'; m: number; lambda: number }
  | { kind: 'cosine'; m: number }
  | { kind: 'angular'; m: number; easyMargin: boolean }
  | { kind: 'combined'; m1: number; m2: number; m3: number };

/**
 * The attributes of MARGIN_SOFTMAX_KERNEL (JSON-serialisable): which margin softmax to compute. With ‖v‖ = √(Σv² + 1e-12)
 * and cos θ_ij = clip(x_i·w_j / (‖x_i‖‖w_j‖), −1, 1), the logit of class j ≠ y_i is scale_ij·cos θ_ij and the target's is
 * scale_iy·t(cos θ_iy), where scale is ‖x_i‖ (`feature`), ‖x_i‖‖w_j‖ (`feature-weight`) or s (`fixed`). `linear` is plain
 * softmax: x_i·w_j + b_j for every class (no target term). The gradient is the exact one of these formulas (the clip
 * passing it inside [−1, 1], inclusive), or with `gradient: 'caffe'` (`feature` scale and a `psi` target only) the
 * authors' hand-coded A-Softmax backward: ∂/∂W = xᵀg, ∂/∂x with the normalised coefficient pair (ψ', (ψ − cψ')/‖x‖).
 *
 * The metrics are those of the margin-free classifier: accuracy = top-1 of x·ŵ_j with ŵ_j = w_j/(√Σw² + 1e-12) for the
 * weight-normalising scales (`feature`, `fixed`), of x·w_j + b_j otherwise; the mean over rows of the angle
 * acos(clip(x·w_y / (√Σx²·√Σw_y² + 1e-12), −1, 1)) in degrees; the mean of √Σx².
 */
export interface MarginSoftmaxSpec {
  scale: 'linear' | 'feature' | 'feature-weight' | 'fixed';
  /** s of the `fixed` scale. */
  s?: number;
  target: MarginTarget;
  /** Default 'exact'. */
  gradient?: 'exact' | 'caffe';
}
