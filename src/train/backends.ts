/**
 * Training backends, chosen at run time, best first:
 *   tensorflow  @tensorflow/tfjs-node-gpu when CUDA loads, else @tensorflow/tfjs-node (both
 *               optional dependencies: their install downloads libtensorflow)
 *   webgpu      @tensorflow/tfjs-backend-webgpu over the `webgpu` package (Dawn), when a GPU
 *               adapter exists ('auto' skips software adapters such as lavapipe: slower than wasm)
 *   wasm        @tensorflow/tfjs-backend-wasm plus this project's convolution-gradient kernels
 *   cpu         the pure-JS backend, with the faster filter-gradient kernel
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors.js';
import { registerConvGradKernels } from './conv-grad-kernels.js';

export type TrainingBackend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const TRAINING_BACKENDS: readonly TrainingBackend[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendProbe {
  name: TrainingBackend;
  available: boolean;
  detail: string;
  /** webgpu only: a software (CPU) adapter, usable when forced but skipped by 'auto'. */
  software?: boolean;
}

const short = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 160);
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
      await import(pkg);
      await setUp('tensorflow', () => {});
      const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
      if (pkg.endsWith('-gpu') && !gpu) {
        tried.push(`${pkg}: loaded but found no CUDA GPU`);
        continue;
      }
      return { name: 'tensorflow', available: true, detail: `${pkg} (libtensorflow, ${gpu ? 'CUDA GPU' : 'CPU'})` };
    } catch (e) {
      tried.push(`${pkg}: ${missing(e) ? 'not installed (its install needs internet to download libtensorflow)' : `failed to load: ${short(e)}`}`);
    }
  }
  return { name: 'tensorflow', available: false, detail: tried.join('; ') };
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter?: boolean;
}

async function webgpuAdapter(): Promise<{ adapter: GpuAdapterLike | null; why: string }> {
  let mod: { create: (flags: string[]) => { requestAdapter(): Promise<GpuAdapterLike | null> }; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    return { adapter: null, why: missing(e) ? "the 'webgpu' package is not installed" : `the 'webgpu' package failed to load: ${short(e)}` };
  }
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const gpu = g.navigator!.gpu as { requestAdapter(): Promise<GpuAdapterLike | null> };
  const adapter = await gpu.requestAdapter().catch(() => null);
  return { adapter, why: adapter ? '' : 'no WebGPU adapter: Dawn found no Vulkan GPU it accepts (Debian 12 lavapipe lacks a feature Dawn requires)' };
}

function describeAdapter(a: GpuAdapterLike): { text: string; software: boolean } {
  const i = a.info ?? {};
  const text = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unknown adapter';
  const software = a.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(text);
  return { text, software };
}

async function probeWebgpu(): Promise<BackendProbe> {
  const { adapter, why } = await webgpuAdapter();
  if (!adapter) return { name: 'webgpu', available: false, detail: why };
  const { text, software } = describeAdapter(adapter);
  return { name: 'webgpu', available: true, software, detail: `${text}${software ? ' (software adapter: slower than wasm, used only when forced)' : ''}` };
}

export async function probeTrainingBackends(): Promise<BackendProbe[]> {
  const wasm: BackendProbe = { name: 'wasm', available: true, detail: 'tfjs-backend-wasm (XNNPACK) + project conv-gradient kernels' };
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    Object.assign(wasm, { available: false, detail: `failed to load: ${short(e)}` });
  }
  return [await probeTensorflow(), await probeWebgpu(), wasm, { name: 'cpu', available: true, detail: 'pure JavaScript' }];
}

/** Make `requested` the tfjs backend ('auto': the first that works, best first). */
export async function useBackend(requested: TrainingBackend | 'auto'): Promise<{ name: TrainingBackend; detail: string }> {
  const order = requested === 'auto' ? TRAINING_BACKENDS : [requested];
  const reasons: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        const p = await probeTensorflow();
        if (!p.available) throw new Error(p.detail);
        return { name, detail: p.detail };
      }
      if (name === 'webgpu') {
        const p = await probeWebgpu();
        if (!p.available) throw new Error(p.detail);
        if (p.software && requested === 'auto') throw new Error(`skipped: ${p.detail}`);
        await setUp('webgpu', async () => {
          await import('@tensorflow/tfjs-backend-webgpu');
        });
        return { name, detail: p.detail };
      }
      if (name === 'wasm') {
        await setUp('wasm', async () => {
          await import('@tensorflow/tfjs-backend-wasm');
        });
        registerConvGradKernels('wasm');
        return { name, detail: 'tfjs-backend-wasm (XNNPACK) + project conv-gradient kernels' };
      }
      await setUp('cpu', async () => {
        await import('@tensorflow/tfjs-backend-cpu');
      });
      registerConvGradKernels('cpu');
      return { name: 'cpu', detail: 'pure JavaScript + project filter-gradient kernel' };
    } catch (e) {
      reasons.push(`${name}: ${short(e)}`);
    }
  }
  throw new BackendUnavailableError(`training backend ${requested} cannot run here: ${reasons.join('; ')}`);
}
