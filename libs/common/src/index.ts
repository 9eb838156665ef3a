export { writeFileAtomic } from './fs';
export { canonicalJson, contentHash, sha256Hex } from './hash';
export { Mulberry32, mulberry32 } from './random';
