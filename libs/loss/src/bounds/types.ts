/**
 * Public types and constants of the margin-bound checks. No runtime imports: `@sphereface/loss` re-exports this
 * entry, and mathjs (seconds to load) and Z3 are loaded only when `verifyMarginBounds` runs.
 */

/**
 * An exact real number `rational + coefficient·√radicand` (rationals as strings such as `'2'`,
 * `'-1/1000000'`, `'1.5'`; radicand a positive integer). Bounds are claimed and derived in this form so
 * that 2 + √3 is compared exactly, not as a float.
 */
export interface Surd {
  readonly rational: string;
  readonly coefficient: string;
  readonly radicand: number;
}

/** `rational + coefficient·√radicand`; the parts are validated when a check reads them. */
export function surd(rational: string | number, coefficient: string | number = 0, radicand = 1): Surd {
  return { rational: String(rational), coefficient: String(coefficient), radicand };
}

export type CheckMethod = 'symbolic' | 'proof' | 'numeric';

export const CHECK_METHODS: readonly CheckMethod[] = ['symbolic', 'proof', 'numeric'];

/** The bounds under test. The paper's values are the defaults; tests pass wrong ones to see each check fail. */
export interface MarginBoundClaims {
  /** Property 2: smallest m with max intra ≤ min inter for two classes, over every θ12 ∈ (0, π]. */
  readonly binary: Surd;
  /** Property 3: the same for k ≥ 3 classes with uniformly spaced weights. */
  readonly uniform: Surd;
}

/**
 * 2 + √3 and 3. The per-configuration threshold min(binary, 1 + 2π/θ12) and the antipodal one (θ12 = π)
 * follow from `binary`.
 */
export const PAPER_CLAIMS: MarginBoundClaims = { binary: surd(2, 1, 3), uniform: surd(3) };

/** One claim checked by one method. */
export interface ClaimCheck {
  readonly claim: string;
  readonly method: CheckMethod;
  readonly verdict: 'pass' | 'fail';
  readonly timeMs: number;
  /** Human-readable steps, results and models, in order. */
  readonly details: string[];
}

export interface VerifyMarginBoundsOptions {
  /** Bounds to check; defaults to the paper's (2 + √3 and 3). */
  readonly claims?: Partial<MarginBoundClaims>;
  /** Which checks to run, in this order; default all three. */
  readonly methods?: readonly CheckMethod[];
}

export interface MarginBoundsReport {
  readonly claims: MarginBoundClaims;
  /** The claims in readable form, e.g. `2 + √3`. */
  readonly claimed: { readonly binary: string; readonly uniform: string };
  readonly checks: ClaimCheck[];
  /** Wall time of each method that ran, including its set-up (Z3 start-up for `proof`). */
  readonly methodTimesMs: Partial<Record<CheckMethod, number>>;
  /** Z3 WebAssembly start-up, part of the `proof` time. */
  readonly z3InitMs?: number;
  readonly totalMs: number;
  readonly passed: boolean;
}
