/**
 * The contract between the trainer (@sphereface/models) and a backend that fuses its optimizer work
 * (@sphereface/native): kernel names and their attributes. It lives here, below both, so that native needs nothing
 * from models.
 *
 * A backend may register these kernels to run the optimizer's element-wise work in one pass per tensor. Without them
 * the same arithmetic runs as separate tfjs ops: 7 full passes over every weight per step, which a profile of
 * SphereFace-4 on the native backend showed as 14–19 % of a step.
 */
export const SGD_MOMENTUM_KERNEL = 'SphereFaceSgdMomentum';
export const SUM_OF_SQUARES_KERNEL = 'SphereFaceSumOfSquares';

/** One parameter's update coefficients (Caffe SGD): the attributes of SGD_MOMENTUM_KERNEL. */
export interface SgdCoefficients {
  /** Learning rate × the parameter's lr multiplier. */
  lr: number;
  momentum: number;
  /** Weight decay × the parameter's decay multiplier (0: none). */
  decay: number;
  /** Gradient scale from global-norm clipping (1: none). */
  scale: number;
}
