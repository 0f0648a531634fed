/** Telling a software WebGPU adapter from a GPU, on adapter descriptions Dawn reports. */
import test from 'ava';
import { describeAdapter } from '../../src/util/webgpu-adapter.js';

test('software adapters (lavapipe, llvmpipe, SwiftShader, Dawn fallback) are told from GPUs', (t) => {
  const software = [
    { vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    { vendor: 'mesa', description: 'lavapipe' },
    { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' },
    { vendor: 'unknown', description: 'some adapter', fallback: true },
  ];
  const gpus = [
    { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' },
    { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' },
    { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD Graphics 770 (ADL-S GT1)' },
  ];
  for (const a of software) t.true(describeAdapter(a).software, a.description);
  for (const a of gpus) {
    const d = describeAdapter(a);
    t.false(d.software, a.description);
    t.regex(d.text, new RegExp(a.description.replace(/[()]/g, '\\$&')));
  }
});
