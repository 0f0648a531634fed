/**
 * Training backends, chosen at run time, best first:
 *   tensorflow  @tensorflow/tfjs-node-gpu when CUDA loads, else @tensorflow/tfjs-node (both
 *               optional dependencies: their install downloads libtensorflow)
 *   webgpu      @tensorflow/tfjs-backend-webgpu over the `webgpu` package (Dawn), when a GPU
 *               adapter exists ('auto' skips software adapters such as lavapipe: slower than wasm),
 *               plus this project's WGSL LRN-gradient and filter-gradient kernels
 *   wasm        @tensorflow/tfjs-backend-wasm plus this project's convolution-gradient kernels.
 *               Single-threaded in Node: tfjs turns its threaded SIMD build off there
 *               (WASM_HAS_MULTITHREAD_SUPPORT is false under IS_NODE, tfjs#3830; forced on, its
 *               pthread workers fail on their blob: URL, and patched to load from files they start
 *               but XNNPACK reports 1 thread and no speed-up), so setThreadsCount changes nothing.
 *   cpu         the pure-JS backend, with the faster filter-gradient kernel
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors.js';
import { describeAdapter, probeAdapterInChild } from '../util/webgpu-adapter.js';
import { registerConvGradKernels } from './conv-grad-kernels.js';
import { registerWasmMatMul } from './matmul-kernel.js';
import { registerWasmPoolLrnKernels } from './pool-lrn-kernels.js';
import { registerWebgpuKernels } from './webgpu-kernels.js';

export type TrainingBackend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const TRAINING_BACKENDS: readonly TrainingBackend[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendProbe {
  name: TrainingBackend;
  available: boolean;
  detail: string;
  /** webgpu only: a software (CPU) adapter, usable when forced but skipped by 'auto'. */
  software?: boolean;
  /** tensorflow only: libtensorflow found a CUDA GPU. */
  gpu?: boolean;
}

const short = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300);
const missing = (e: unknown) => /Cannot find (module|package)/.test(String((e as Error)?.message));

// The console banner tfjs prints when it runs in Node without tfjs-node: the choice is made here.
tf.env().set('PROD', true);

async function setUp(name: string, init: () => Promise<void> | void): Promise<void> {
  await init();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

async function probeTensorflow(): Promise<BackendProbe> {
  const tried: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg); // registers backend 'tensorflow' (libtensorflow through N-API)
      await setUp('tensorflow', () => {});
      const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
      // The -gpu build only loads where CUDA 11.2 + cuDNN 8.1 do; loaded without a device it
      // runs on the CPU, and loading the second package too would register 'tensorflow' twice.
      const where = gpu ? 'CUDA GPU' : pkg.endsWith('-gpu') ? 'CPU: CUDA loaded but found no GPU' : 'CPU';
      return { name: 'tensorflow', available: true, gpu, detail: `${pkg} (libtensorflow, ${where})` };
    } catch (e) {
      tried.push(`${pkg}: ${missing(e) ? 'not installed (its install needs internet to download libtensorflow)' : `library failed to load: ${short(e)}`}`);
    }
  }
  return { name: 'tensorflow', available: false, detail: tried.join('; ') };
}

async function probeWebgpu(): Promise<BackendProbe> {
  const { info, why } = probeAdapterInChild();
  if (!info) return { name: 'webgpu', available: false, detail: why };
  const { text, software } = describeAdapter(info);
  return { name: 'webgpu', available: true, software, detail: `${text}${software ? ' (software adapter: slower than wasm, used only when forced)' : ''}` };
}

/** Put Dawn's navigator.gpu on globalThis for tfjs-backend-webgpu (once). */
async function installNavigatorGpu(): Promise<void> {
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  const mod = (await import('webgpu')) as unknown as { create: (flags: string[]) => unknown; globals: object };
  Object.assign(globalThis, mod.globals); // GPUBufferUsage etc., which the backend reads as globals
  const gpu = mod.create([]);
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
}

export async function probeTrainingBackends(): Promise<BackendProbe[]> {
  const wasm: BackendProbe = { name: 'wasm', available: true, detail: 'tfjs-backend-wasm (XNNPACK) + project conv-gradient kernels' };
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    Object.assign(wasm, { available: false, detail: `failed to load: ${short(e)}` });
  }
  const before = tf.engine().backendName; // null until a backend is chosen
  const tensorflow = await probeTensorflow(); // selects 'tensorflow' when it loads: undo that
  if (before && tf.engine().backendName !== before) await tf.setBackend(before);
  return [tensorflow, await probeWebgpu(), wasm, { name: 'cpu', available: true, detail: 'pure JavaScript' }];
}

/** Make `requested` the tfjs backend ('auto': the first that works, best first). */
export async function useBackend(requested: TrainingBackend | 'auto'): Promise<{ name: TrainingBackend; detail: string; gpu: boolean }> {
  const order = requested === 'auto' ? TRAINING_BACKENDS : [requested];
  const reasons: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        const p = await probeTensorflow();
        if (!p.available) throw new Error(p.detail);
        return { name, detail: p.detail, gpu: p.gpu === true };
      }
      if (name === 'webgpu') {
        const p = await probeWebgpu();
        if (!p.available) throw new Error(p.detail);
        if (p.software && requested === 'auto') throw new Error(`skipped: ${p.detail}`);
        await setUp('webgpu', async () => {
          // tfjs-backend-webgpu registers itself at import only if navigator.gpu exists.
          await installNavigatorGpu();
          await import('@tensorflow/tfjs-backend-webgpu');
          // Small ops would otherwise run on the CPU copy and read the GPU synchronously, which
          // needs OffscreenCanvas: Node has none.
          tf.env().set('WEBGPU_CPU_FORWARD', false);
        });
        registerWebgpuKernels();
        return { name, detail: `${p.detail}; project LRN-gradient and filter-gradient kernels`, gpu: p.software !== true };
      }
      if (name === 'wasm') {
        await setUp('wasm', async () => {
          await import('@tensorflow/tfjs-backend-wasm');
        });
        registerConvGradKernels('wasm');
        registerWasmMatMul();
        registerWasmPoolLrnKernels();
        return { name, detail: 'tfjs-backend-wasm (XNNPACK) + project conv-gradient, LRN and max-pool-gradient kernels', gpu: false };
      }
      await setUp('cpu', async () => {
        await import('@tensorflow/tfjs-backend-cpu');
      });
      registerConvGradKernels('cpu');
      return { name: 'cpu', detail: 'pure JavaScript + project filter-gradient kernel', gpu: false };
    } catch (e) {
      reasons.push(`${name}: ${short(e)}`);
    }
  }
  throw new BackendUnavailableError(`training backend ${requested} cannot run here: ${reasons.join('; ')}`);
}
