/**
 * Which onnxruntime execution providers run on this machine, and why the others do not: each
 * is tried for real, on a one-node model (Relu), with no fallback provider listed.
 *
 * Honesty about fallback: onnxruntime assigns a node its provider cannot take to the CPU
 * provider without a word. For every provider but cpu the probe sets the session config
 * `session.disable_cpu_ep_fallback = 1`, so a session that would put the Relu on the CPU fails
 * to create instead (checked: with `executionProviders: ['cpu']` and that flag set, creation
 * fails with "assigned to the default CPU EP"). "available" therefore means the node ran on
 * that provider. Where it runs, each op of the exported graphs is then tried alone the same way,
 * and `cpuOps` lists those the provider would leave to the CPU (an example: see bench/RESULTS.md,
 * serve execution provider). For cuda and tensorrt, whose libraries onnxruntime-node does not bundle, the detail also says whether the
 * provider library is present beside the binding.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../errors.js';
import { encodeModel, FLOAT, GraphBuilder, UINT8 } from '../model/onnx-builder.js';
import { describeAdapter, probeAdapterInChild } from '../util/webgpu-adapter.js';
import type { Logger } from './log.js';

export type ExecutionProvider = 'cuda' | 'tensorrt' | 'webgpu' | 'cpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cuda', 'tensorrt', 'webgpu', 'cpu'];
/** `--device`: a provider, or auto. */
export type DeviceChoice = 'auto' | ExecutionProvider;

export interface ProviderProbe {
  name: ExecutionProvider;
  available: boolean;
  detail: string;
  /** For a provider that runs: the ops of the exported AlexNet graphs it would leave to the CPU. */
  cpuOps?: string[];
}

let probeModel: Uint8Array | undefined;

function reluModel(): Uint8Array {
  if (!probeModel) {
    const g = new GraphBuilder();
    const x = g.input('x', FLOAT, [4]);
    g.node('Relu', [x], {}, 'relu', ['y']);
    g.output('y', FLOAT, [4]);
    probeModel = encodeModel(g.model('probe', {}, 'execution provider probe'));
  }
  return probeModel;
}

interface OpCase {
  model: Uint8Array;
  feed: Record<string, ort.Tensor>;
}

/** One small model per op the exported graphs use (single-crop and ten-crop), each with its feed. */
function alexnetOpCases(): Record<string, OpCase> {
  const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  const one = (op: string, dims: number[], build: (g: GraphBuilder, x: string) => void, elem = FLOAT): OpCase => {
    const g = new GraphBuilder();
    build(g, g.input('x', elem, dims));
    const x =
      elem === UINT8
        ? new ort.Tensor('uint8', Uint8Array.from({ length: count(dims) }, (_, i) => i), dims)
        : new ort.Tensor('float32', Float32Array.from({ length: count(dims) }, (_, i) => (i % 7) - 3), dims);
    return { model: encodeModel(g.model(`probe_${op}`, {}, `${op} coverage probe`)), feed: { x } };
  };
  // Output shapes are left to onnxruntime: each output is declared with symbolic dimensions.
  const out = (g: GraphBuilder, rank: number) => g.output('y', FLOAT, Array.from({ length: rank }, (_, i) => `d${i}`));
  const w = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 5) - 2) / 10);
  const node = (g: GraphBuilder, op: string, inputs: string[], attrs: Parameters<GraphBuilder['node']>[2], rank: number) => {
    g.node(op, inputs, attrs, op.toLowerCase(), ['y']);
    out(g, rank);
  };
  return {
    Conv: one('Conv', [1, 4, 5, 5], (g, x) => {
      node(g, 'Conv', [x, g.floats('w', [4, 2, 3, 3], w(72)), g.floats('b', [4], w(4))], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, group: { i: 2 } }, 4);
    }),
    LRN: one('LRN', [1, 8, 4, 4], (g, x) => node(g, 'LRN', [x], { size: { i: 5 }, alpha: { f: 5e-4 }, beta: { f: 0.75 }, bias: { f: 2 } }, 4)),
    MaxPool: one('MaxPool', [1, 4, 5, 5], (g, x) => node(g, 'MaxPool', [x], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } }, 4)),
    Flatten: one('Flatten', [1, 4, 2, 2], (g, x) => node(g, 'Flatten', [x], { axis: { i: 1 } }, 2)),
    Gemm: one('Gemm', [2, 4], (g, x) => node(g, 'Gemm', [x, g.floats('w', [4, 3], w(12)), g.floats('b', [3], w(3))], { transB: { i: 0 } }, 2)),
    Softmax: one('Softmax', [2, 3], (g, x) => node(g, 'Softmax', [x], { axis: { i: 1 } }, 2)),
    Cast: one('Cast', [4], (g, x) => node(g, 'Cast', [x], { to: { i: FLOAT } }, 1), UINT8),
    Sub: one('Sub', [2, 3], (g, x) => node(g, 'Sub', [x, g.floats('m', [3], w(3))], {}, 2)),
    Transpose: one('Transpose', [1, 2, 3, 4], (g, x) => node(g, 'Transpose', [x], { perm: { ints: [0, 3, 1, 2] } }, 4)),
    Slice: one('Slice', [1, 2, 3, 4], (g, x) => {
      node(g, 'Slice', [x, g.int64s('starts', [-1]), g.int64s('ends', [-(2n ** 62n)]), g.int64s('axes', [3]), g.int64s('steps', [-1])], {}, 4);
    }),
    Concat: one('Concat', [1, 2], (g, x) => node(g, 'Concat', [x, x], { axis: { i: 0 } }, 2)),
    Reshape: one('Reshape', [4, 3], (g, x) => node(g, 'Reshape', [x, g.int64s('shape', [2, -1, 3])], {}, 3)),
    ReduceMean: one('ReduceMean', [2, 3], (g, x) => node(g, 'ReduceMean', [x], { axes: { ints: [0] }, keepdims: { i: 0 } }, 1)),
  };
}

/** The ops of the exported graphs a provider cannot take: each op alone, CPU fallback disabled. */
export async function opsLeftToCpu(options: ort.InferenceSession.SessionOptions): Promise<string[]> {
  const left: string[] = [];
  for (const [op, c] of Object.entries(alexnetOpCases())) {
    try {
      const session = await ort.InferenceSession.create(c.model, options);
      try {
        await session.run(c.feed);
      } finally {
        await session.release();
      }
    } catch (e) {
      left.push(/assigned to the default CPU EP/i.test(String((e as Error)?.message)) ? op : `${op} (${short(e)})`);
    }
  }
  return left;
}

/** The error text without onnxruntime's source location and assertion prefix, shortened. */
function short(e: unknown): string {
  let text = String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();
  text = text.replace(/^.*? was false\. /, '').replace(/^.*\[ONNXRuntimeError\] : \d+ : \w+ : /, '');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** The directory holding onnxruntime-node's native binding and libonnxruntime, if it can be found. */
function bindingDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** For the providers shipped as separate shared libraries: is the library there? */
function providerLibrary(name: ExecutionProvider): string | undefined {
  if (name !== 'cuda' && name !== 'tensorrt') return undefined;
  const dir = bindingDir();
  if (!dir || process.platform !== 'linux') return undefined;
  const file = path.join(dir, `libonnxruntime_providers_${name}.so`);
  return existsSync(file) ? `${file} present` : `${path.basename(file)} is not in ${dir}`;
}

export async function probeProvider(name: ExecutionProvider): Promise<ProviderProbe> {
  // Native logs of a failed attempt (onnxruntime's own stderr lines) are summarized in `detail` instead.
  ort.env.logLevel = 'fatal';
  const backends = ort.listSupportedBackends?.() ?? [];
  const listed = backends.find((b) => b.name === name);
  if (name !== 'cpu' && !listed) return { name, available: false, detail: 'not built into this onnxruntime-node' };
  const library = providerLibrary(name);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [name],
    logSeverityLevel: 4, // fatal only: the failure is summarized in `detail`
    ...(name === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  };
  try {
    const session = await ort.InferenceSession.create(reluModel(), options);
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 2, -3]), [4]) });
      const y = Array.from(out.y!.data as Float32Array);
      if (y.join(',') !== '0,0,2,0') return { name, available: false, detail: `ran but answered ${y} for Relu(-1, 0, 2, -3)` };
    } finally {
      await session.release();
    }
    if (name === 'cpu') return { name, available: true, detail: 'session created and ran' };
    // The Relu ran on the provider. onnxruntime would hand any op it lacks to the CPU in silence:
    // find out which of the exported graphs' ops those would be.
    const cpuOps = await opsLeftToCpu(options);
    const ops = cpuOps.length === 0 ? 'every op of the exported models runs on it' : `it lacks ${cpuOps.join(', ')}: --device webgpu runs that on the CPU, and --device auto passes it over`;
    return { name, available: true, detail: `a test op ran on it; ${ops}${library ? `; ${library}` : ''}`, cpuOps };
  } catch (e) {
    const why = short(e);
    if (/fallback to CPU EP has been explicitly disabled|assigned to the default CPU EP/i.test(why)) {
      return { name, available: false, detail: 'the provider loaded but would leave the node to the CPU (onnxruntime would silently fall back)' };
    }
    if (listed && !listed.bundled && /load|\.so|cannot open|not found/i.test(why)) {
      return {
        name,
        available: false,
        detail: `provider library not installed (${library ?? 'not bundled with onnxruntime-node'}; install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm install on a machine with internet, CUDA 12 and NVIDIA drivers): ${why}`,
      };
    }
    if (name === 'webgpu' && /adapter|webgpu_context/i.test(why)) {
      return { name, available: false, detail: `no WebGPU adapter (onnxruntime's WebGPU provider needs a GPU with Vulkan drivers): ${why}` };
    }
    return { name, available: false, detail: `failed: ${why}` };
  }
}

export async function probeExecutionProviders(): Promise<ProviderProbe[]> {
  const out: ProviderProbe[] = [];
  for (const name of EXECUTION_PROVIDERS) out.push(await probeProvider(name));
  return out;
}

/** Pick the execution provider: the one asked for (an error if it cannot run), or for auto cuda, then webgpu (if it takes every op), then cpu. */
export async function chooseProvider(device: DeviceChoice, log: Logger): Promise<ExecutionProvider> {
  if (device !== 'auto') {
    if (!EXECUTION_PROVIDERS.includes(device)) throw new ConfigError(`unknown device '${device}': choose auto, ${EXECUTION_PROVIDERS.join(', ')}`);
    const p = await probeProvider(device);
    if (!p.available) throw new ConfigError(`--device ${device} cannot run here: ${p.detail}`);
    return device;
  }
  for (const name of ['cuda', 'webgpu'] as const) {
    if (name === 'webgpu') {
      // Ask Dawn first, in a child process: no adapter, or a software one (slower than the cpu
      // provider), and onnxruntime's WebGPU provider is not tried here at all.
      const skip = webgpuAdapterProblem();
      if (skip) {
        log.info('execution provider skipped', { provider: name, why: skip });
        continue;
      }
    }
    const p = await probeProvider(name);
    if (p.available && !(p.cpuOps && p.cpuOps.length > 0)) {
      log.info('execution provider chosen', { provider: name, detail: p.detail });
      return name;
    }
    const why = p.available ? `it would leave ${p.cpuOps!.join(', ')} to the CPU` : p.detail;
    log.info('execution provider skipped', { provider: name, why });
  }
  log.info('execution provider chosen', { provider: 'cpu' });
  return 'cpu';
}

/** Why `--device auto` should not use WebGPU here, or undefined when a hardware adapter exists (or Dawn cannot say). */
export function webgpuAdapterProblem(): string | undefined {
  const a = probeAdapterInChild();
  if (!a.info) return a.dawnLoaded ? a.why : undefined;
  const { text, software } = describeAdapter(a.info);
  return software ? `${text} is a software adapter, slower than the cpu provider (--device webgpu uses it anyway)` : undefined;
}
