export {
  CHECK_METHODS,
  PAPER_CLAIMS,
  surd,
  type CheckMethod,
  type ClaimCheck,
  type MarginBoundClaims,
  type MarginBoundsReport,
  type Surd,
  type VerifyMarginBoundsOptions,
} from './types';
export { formatMarginBoundsReport, verifyMarginBounds } from './report';
export {
  binaryThreshold,
  classRegions,
  geodesic,
  inRegion,
  intraInter,
  marginHolds,
  smallestMargin,
  uniformThreshold,
  type Arc,
} from './decision-rule';
