/**
 * Which onnxruntime execution providers run on this machine, and why the others do not: each
 * is tried for real, on a one-node model (Relu), with no fallback provider listed.
 *
 * Honesty about fallback: onnxruntime assigns a node its provider cannot take to the CPU
 * provider without a word. For every provider but cpu the probe sets the session config
 * `session.disable_cpu_ep_fallback = 1`, so a session that would put the Relu on the CPU fails
 * to create instead (checked: with `executionProviders: ['cpu']` and that flag set, creation
 * fails with "assigned to the default CPU EP"). "available" therefore means the node ran on
 * that provider. For cuda and tensorrt, whose libraries onnxruntime-node does not bundle, the
 * detail also says whether the provider library is present beside the binding.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModel, FLOAT, GraphBuilder } from '../export/onnx-builder.js';

export type ExecutionProvider = 'cuda' | 'tensorrt' | 'webgpu' | 'cpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cuda', 'tensorrt', 'webgpu', 'cpu'];

export interface ProviderProbe {
  name: ExecutionProvider;
  available: boolean;
  detail: string;
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
    const where = name === 'cpu' ? '' : ' with CPU fallback disabled (the node ran on this provider)';
    return { name, available: true, detail: `session created and ran${where}${library ? `; ${library}` : ''}` };
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
  // Native logs of the failed attempts are summarized in `detail` instead.
  ort.env.logLevel = 'fatal';
  const out: ProviderProbe[] = [];
  for (const name of EXECUTION_PROVIDERS) out.push(await probeProvider(name));
  return out;
}
