import { randomMatrix, seededRandom, type ReferenceInputs } from './reference';

/**
 * The settings and inputs the float64-reference tests use (losses/losses.reference.test.ts on the tfjs ops,
 * fused.test.ts on the fused kernel). Every registered loss is also checked at its defaults.
 */
export const REFERENCE_VARIANTS: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'a-softmax', options: { m: 1 } },
  { name: 'a-softmax', options: { m: 2, lambda: 0 } },
  { name: 'a-softmax', options: { m: 3, lambda: 2.5 } },
  { name: 'a-softmax', options: { m: 4, lambda: 0 } },
  { name: 'a-softmax', options: { m: 6, lambda: { base: 100, lambdaMin: 1 } } },
  { name: 'a-softmax-normfea', options: { m: 4, lambda: 1 } },
  { name: 'l-softmax', options: { m: 2, lambda: 0 } },
  { name: 'l-softmax', options: { m: 4, lambda: 3 } },
  { name: 'arcface', options: { m: 0.9, s: 16 } },
  { name: 'arcface', options: { easyMargin: true } },
  { name: 'combined', options: { m1: 1.35, m2: 0, m3: 0 } },
  { name: 'combined', options: { m1: 0.9, m2: 0.4, m3: 0.15 } },
];

export const REFERENCE_N = 6;
export const REFERENCE_D = 5;
export const REFERENCE_C = 4;
export const REFERENCE_ITERATION = 37;

/** Features at many angles to the class weights, unnormalised (norms 0.5–5), so every ψ interval is visited. */
export function makeReferenceInputs(seed: number, withBias: boolean, iteration = REFERENCE_ITERATION): ReferenceInputs {
  const random = seededRandom(seed);
  const features = randomMatrix(REFERENCE_N, REFERENCE_D, random, 3);
  return {
    features,
    weights: randomMatrix(REFERENCE_D, REFERENCE_C, random, 1),
    labels: Array.from({ length: REFERENCE_N }, (_, i) => i % REFERENCE_C),
    bias: withBias ? Array.from({ length: REFERENCE_C }, () => random() - 0.5) : undefined,
    iteration,
  };
}
