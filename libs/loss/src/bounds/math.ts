import { all, create } from 'mathjs';

/** mathjs with plain numbers: parsing, `rationalize`, `derivative`, `polynomialRoot`. */
export const math = create(all);
/** mathjs evaluating in exact fractions (Taylor coefficients, constants). */
export const exact = create(all, { number: 'Fraction' });
/** mathjs evaluating in 64-digit BigNumbers (residual of a root). */
export const big = create(all, { number: 'BigNumber', precision: 64 });
