import type * as tf from '@tensorflow/tfjs';

/**
 * FLOPs of one training step of a SphereFace backbone plus a C-class classifier: the multiply-adds of the 3×3
 * convolutions, FC1 and the classifier, for forward + input gradient + weight gradient (conv1 has no input
 * gradient), 2 FLOP per multiply-add. Element-wise work (PReLU, sums, the loss) is not counted.
 */
export function trainingStepFlops(backbone: tf.LayersModel, classes: number, batch: number): number {
  const embedding = (backbone.outputs[0].shape[1] ?? 0) as number;
  let macs = 3 * embedding * classes;
  for (const layer of backbone.layers) {
    const name = layer.getClassName();
    const out = layer.outputShape as number[];
    const input = layer.input as tf.SymbolicTensor;
    if (name === 'Dense') macs += 3 * input.shape[1]! * out[1];
    if (name !== 'SphereConv2D') continue;
    const forward = out[1] * out[2] * 9 * input.shape[3]! * out[3];
    macs += forward * (input.sourceLayer.getClassName() === 'InputLayer' ? 2 : 3);
  }
  return 2 * macs * batch;
}
