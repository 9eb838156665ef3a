export { nativeConvAlgorithms, registerNativeBackend, setNativeWinograd, NATIVE_BACKEND } from './backend';
export type { NativeBackendInfo } from './backend';
export { loadNativeAddon, ADDON_PATH } from './loader';
export type { NativeAddon } from './loader';
export { nativeKernelCalls } from './kernels';
