export { selectBackend, BACKEND_CHOICES, BACKEND_ENV } from './backend';
export type { BackendChoice, BackendInfo, SelectBackendOptions } from './backend';
export { registerWasmTrainingKernels } from './wasm-kernels';
export type { WasmKernelOptions } from './wasm-kernels';
