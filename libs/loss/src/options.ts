/** Small validators for loss options; each error names the loss and the option. */
export function requireFinite(loss: string, option: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${loss}: option '${option}' must be a finite number${min > -Infinity ? ` ≥ ${min}` : ''}; got ${String(value)}`);
  }
  return value;
}

export function requirePositive(loss: string, option: string, value: unknown): number {
  const n = requireFinite(loss, option, value);
  if (n <= 0) throw new RangeError(`${loss}: option '${option}' must be > 0; got ${n}`);
  return n;
}

export function requireOneOf<T extends string>(loss: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new RangeError(`${loss}: option '${option}' must be one of ${allowed.join(', ')}; got ${String(value)}`);
  }
  return value as T;
}
