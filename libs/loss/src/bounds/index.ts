export { PAPER_CLAIMS, type CheckMethod, type ClaimCheck, type MarginBoundClaims } from './claims';
export { CHECK_METHODS, formatMarginBoundsReport, verifyMarginBounds, type MarginBoundsReport, type VerifyMarginBoundsOptions } from './report';
export { formatSurd, surd, type Surd } from './surd';
export { deriveMarginBounds, type Derivation, type SymbolicBounds } from './symbolic';
export { binaryThreshold, smallestMargin, uniformThreshold } from './numeric';
