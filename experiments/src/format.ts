import type { PairedDifference } from '@sphereface/eval';

/** A difference with its sign, 2 decimals (percentage points in the report's tables). */
export const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
/** A paired difference as `mean [lower, upper]`. */
export const interval = (d: PairedDifference) => `${signed(d.mean)} [${signed(d.interval[0])}, ${signed(d.interval[1])}]`;
/** A share as a whole percentage. */
export const share = (v: number) => `${Math.round(100 * v)} %`;
