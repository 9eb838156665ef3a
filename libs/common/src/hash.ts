import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that equal values give equal text
 * whatever the key insertion order. Typed arrays are written as plain arrays.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stable content hash of any JSON-like value (sha256 of its canonical JSON). */
export function contentHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
