/**
 * The one table of bench/device/run.sh: what each step's output says, side by side with the
 * PyTorch reference on the same GPU, and the goals (>= 0.5x PyTorch fp32 images/s for
 * training the paper network and for ten-crop inference over gRPC). Reads the step files in
 * the folder given (run.sh's $OUT); a step that did not run shows as '-'.
 *
 *   node dist/bench/device/summary.js /tmp/alexnet-device-out
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] ?? '/tmp/alexnet-device-out';
const read = (name: string) => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8') : '');

/** bench:train's rows `| preset | training loop, tfjs <backend>, ... | batch | images/s | ...`. */
function trainRate(text: string, preset: string): { backend: string; rate: number } | undefined {
  const m = new RegExp(`^\\|\\s*${preset}\\s*\\|\\s*training loop, tfjs (\\S+?),[^|]*\\|\\s*\\d+\\s*\\|\\s*([0-9.]+)`, 'm').exec(text);
  return m ? { backend: m[1]!, rate: Number(m[2]) } : undefined;
}

/** bench:serve: the ceiling, and the best Classify images/s over its concurrencies. */
function serveRates(text: string): { ceiling?: number; classify?: number } {
  const ceiling = /^\|\s*onnxruntime alone[^|]*the ceiling[^|]*\|[^|]*\|\s*([0-9.]+)/m.exec(text);
  const classify = [...text.matchAll(/^\|\s*Classify over gRPC[^|]*\|\s*\d+\s*\|\s*([0-9.]+)/gm)].map((m) => Number(m[1]));
  return { ...(ceiling ? { ceiling: Number(ceiling[1]) } : {}), ...(classify.length ? { classify: Math.max(...classify) } : {}) };
}

/** bench:webgpu-kernels' rows `| kernels | s per step | images/s | vs tfjs |`, by kernel set. */
function kernelRates(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^\|\s*(tfjs|project[^|]*?)\s*\|\s*[0-9.]+\s*\|\s*([0-9.]+)\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** torch_reference.py's JSON lines, by their `what`. */
function torchRates(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { what: string; images_per_s?: number };
    if (r.images_per_s !== undefined) out.set(r.what, r.images_per_s);
  }
  return out;
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(3)}x`);

const parity = read('parity.txt');
const passed = (parity.match(/✔/g) ?? []).length;
const failed = (parity.match(/✘/g) ?? []).length;
const skipped = (parity.match(/\[skip\]/g) ?? []).length;
const torch = torchRates(read('torch.txt'));
const torchTrain = torch.get('train step, batch 128, fp32');
const torchTf32 = torch.get('train step, batch 128, TF32');
const torchInfer = [...torch.entries()].find(([k]) => k.startsWith('ten-crop inference'))?.[1];
const gpuServe = serveRates(read('serve-webgpu.txt') || read('serve-cpu.txt'));
const cpuServe = serveRates(read('serve-cpu.txt'));
const paper = trainRate(read('train.txt'), 'paper');
const mini = trainRate(read('train.txt'), 'mini');
const kernels = kernelRates(read('kernels.txt'));

const rows: string[][] = [
  ['parity (webgpu = cpu)', `${passed} passed, ${failed} failed, ${skipped} skipped`, '-', '-', '-'],
  [`train paper (tfjs ${paper?.backend ?? '?'}), images/s`, fmt(paper?.rate), fmt(torchTrain), ratio(paper?.rate, torchTrain), '>= 0.5x PyTorch fp32'],
  ['  the same against PyTorch TF32', fmt(paper?.rate), fmt(torchTf32), ratio(paper?.rate, torchTf32), '-'],
  ...[...kernels].map(([set, rate]) => [`  one training step (bench:webgpu-kernels), kernels: ${set}`, fmt(rate), fmt(torchTrain), ratio(rate, torchTrain), '-']),
  [`train mini (tfjs ${mini?.backend ?? '?'}), images/s`, fmt(mini?.rate), '-', '-', '-'],
  ['ten-crop ONNX alone (the ceiling), images/s', fmt(gpuServe.ceiling), fmt(torchInfer), ratio(gpuServe.ceiling, torchInfer), '-'],
  ['Classify over gRPC, paper, best of the settings measured, images/s', fmt(gpuServe.classify), fmt(torchInfer), ratio(gpuServe.classify, torchInfer), '>= 0.5x PyTorch fp32'],
  ['  the same against onnxruntime cpu on the machine', fmt(gpuServe.classify), fmt(cpuServe.classify), ratio(gpuServe.classify, cpuServe.classify), '-'],
];
const head = ['what', 'this project', 'PyTorch (same GPU)', 'ratio', 'goal'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
