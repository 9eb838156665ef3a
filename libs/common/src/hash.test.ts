import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './hash';

describe('content hash', () => {
  it('is independent of key order and equals sha256 of the canonical JSON text', () => {
    const a = { b: 1, a: [1, { d: 2, c: null }], t: Float32Array.of(0.5, 2) };
    const b = { t: Float32Array.of(0.5, 2), a: [1, { c: null, d: 2 }], b: 1 };
    expect(canonicalJson(a)).toBe('{"a":[1,{"c":null,"d":2}],"b":1,"t":[0.5,2]}');
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(a)).toBe(createHash('sha256').update('{"a":[1,{"c":null,"d":2}],"b":1,"t":[0.5,2]}').digest('hex'));
    expect(contentHash({ ...a, b: 2 })).not.toBe(contentHash(a));
  });
});
