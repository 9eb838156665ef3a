export { AXIS, PALETTE, baseLayout, type Figure } from './figure';
export { FigureRenderer, chromiumPath, renderPngs, type RenderOptions } from './render';
export { decisionRegionsFigure, lambdaFigure, psiFigure, type BoundaryOptions } from './geometry';
export { circleRegionsFigure, marginThresholdFigure, type RegionPanel } from './bounds';
export { featuresFigure, protocolsFigure, trainingCurvesFigure, type RecordLike } from './results';
export {
  depthAccuracyFigure,
  pairedDifferenceFigure,
  seedAccuracyFigure,
  zoomedRange,
  type DepthAccuracyOptions,
  type DepthSeries,
  type Estimate,
  type ForestOptions,
  type ForestPanel,
  type ForestRow,
  type SeedAccuracyOptions,
  type SeedGroup,
} from './effects';
