export * from './training-set';
export * from './hash-cache';
export * from './zip';
export * from './image-size';
export * from './ytf';
export * from './recordio-set';
