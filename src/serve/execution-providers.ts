/**
 * Which onnxruntime execution providers run on this machine, and why the others do not: each
 * is tried for real, on a one-node model, with no fallback provider listed.
 */
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

const short = (e: unknown) => String((e as Error)?.message ?? e).replace(/\s+/g, ' ').slice(0, 200);

export async function probeProvider(name: ExecutionProvider): Promise<ProviderProbe> {
  const backends = ort.listSupportedBackends?.() ?? [];
  const listed = backends.find((b) => b.name === name);
  if (name !== 'cpu' && !listed) return { name, available: false, detail: 'not built into this onnxruntime-node' };
  try {
    const session = await ort.InferenceSession.create(reluModel(), { executionProviders: [name], logSeverityLevel: 3 });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0, 2, -3]), [4]) });
    await session.release();
    const y = Array.from(out.y!.data as Float32Array);
    if (y.join(',') !== '0,0,2,0') return { name, available: false, detail: `ran but answered ${y} for Relu(-1, 0, 2, -3)` };
    const bundled = listed?.bundled === false ? ' (provider library installed separately)' : '';
    return { name, available: true, detail: `session created and ran${bundled}` };
  } catch (e) {
    const why = short(e);
    if (listed && !listed.bundled && /load|\.so|cannot open|not found/i.test(why)) {
      return { name, available: false, detail: `provider library not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12 npm install on a machine with internet and NVIDIA drivers): ${why}` };
    }
    if (name === 'webgpu' && /adapter/i.test(why)) {
      return { name, available: false, detail: 'no WebGPU adapter: onnxruntime\'s WebGPU provider needs a real GPU with Vulkan drivers (it refuses software ones)' };
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
