import * as tf from '@tensorflow/tfjs';
import { beforeAll } from 'vitest';

// The cpu backend is the numerical reference for tfjs; fail loudly if it cannot be selected.
beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('could not select the tfjs cpu backend');
  await tf.ready();
});
