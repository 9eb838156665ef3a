import * as tf from '@tensorflow/tfjs';

/**
 * Fixes for tfjs-backend-webgpu 4.22.0 kernels that training needs (registered over the stock ones):
 * - AddN: the stock kernel binds every input plus the output as storage buffers in one shader, but the device that
 *   tfjs requests has WebGPU's default limit of 8 storage buffers per stage (it does not ask for the adapter's
 *   larger limit). Autograd sums the gradients of a tensor used n times with AddN, and A-Softmax's ψ uses cos θ
 *   16 times (m = 4): the pipeline is rejected and the whole submitted command buffer, the loss included, is
 *   dropped (zeros, no error). This version sums at most (limit − 1) inputs per stock call and adds the partial sums.
 */

type TensorInfo = tf.TensorInfo;

const BACKEND = 'webgpu';
let registered = false;

/** The device's storage-buffer limit, which bounds the inputs of one stock AddN program (one binding is the output). */
function maxAddNInputs(backend: tf.KernelBackend): number {
  const limits = (backend as unknown as { device: { limits: { maxStorageBuffersPerShaderStage: number } } }).device.limits;
  return limits.maxStorageBuffersPerShaderStage - 1;
}

export function registerWebGpuTrainingKernels(): void {
  if (registered) return;
  const stock = tf.getKernel('AddN', BACKEND);
  if (!stock) throw new Error(`registerWebGpuTrainingKernels: tfjs-backend-webgpu registered no AddN kernel`);
  const stockAddN = stock.kernelFunc;
  const addN = (inputs: TensorInfo[], backend: tf.KernelBackend, attrs: tf.NamedAttrMap | undefined): TensorInfo => {
    const max = maxAddNInputs(backend);
    if (inputs.length <= max) return stockAddN({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend, attrs }) as TensorInfo;
    const partials: TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += max) partials.push(addN(inputs.slice(i, i + max), backend, attrs));
    const sum = addN(partials, backend, attrs);
    for (const p of partials) backend.disposeData(p.dataId); // a one-input chunk is an Identity: its own reference
    return sum;
  };
  tf.unregisterKernel('AddN', BACKEND);
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: BACKEND,
    kernelFunc: ({ inputs, backend, attrs }) => addN(inputs as unknown as TensorInfo[], backend as tf.KernelBackend, attrs),
  });
  registered = true;
}
