/** Arithmetic mean, summed in index order. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) throw new Error('mean: no values');
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** How a standard deviation is normalised: 'sample' divides by N−1 (MATLAB `std`), 'population' by N (`np.std`). */
export type StdDefinition = 'sample' | 'population';

export function std(values: ArrayLike<number>, definition: StdDefinition): number {
  const n = values.length;
  const divisor = definition === 'sample' ? n - 1 : n;
  if (divisor < 1) throw new Error(`std: ${definition} std needs at least ${definition === 'sample' ? 2 : 1} values, got ${n}`);
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i] - m) ** 2;
  return Math.sqrt(s / divisor);
}
