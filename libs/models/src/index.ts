export { selectBackend, BACKEND_CHOICES, BACKEND_ENV } from './backend';
export type { BackendChoice, BackendInfo, SelectBackendOptions } from './backend';
export { registerWasmTrainingKernels } from './wasm-kernels';
export type { WasmKernelOptions } from './wasm-kernels';
export { sphereface, createModel, listModels, registerModel, SPHEREFACE_UNITS, STAGE_CHANNELS } from './sphereface';
export type { SphereFaceOptions, ModelFactory } from './sphereface';
export { SphereConv2D } from './layers';
export { fileSystemHandler, writeFileAtomic } from './io';
