/**
 * Model repositories for the reload tests: two good exports of the tiny preset (other seeds,
 * other labels, so an answer shows which one made it), and two broken ones (a truncated file;
 * metadata that promises another input size, so the version opens but cannot warm up).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cli } from './serve-fixtures.js';

export interface Exports {
  /** Directories each holding model.onnx and model.tencrop.onnx. */
  a: string;
  b: string;
  corrupt: string;
  wrongShape: string;
}

async function exportTiny(dir: string, name: string, seed: number, labels: string): Promise<string> {
  const out = path.join(dir, name);
  const ck = path.join(dir, `${name}-ck`);
  await fs.mkdir(out, { recursive: true });
  for (const args of [
    ['init', '--preset', 'tiny', '--labels', labels, '--seed', String(seed), '--out', ck],
    ['export', ck, '-o', path.join(out, 'model.onnx')],
  ]) {
    const r = await cli(...args);
    if (r.code !== 0) throw new Error(`alexnet ${args.join(' ')}: ${r.err}`);
  }
  return out;
}

/** Debian's python3-onnx rewrites one metadata entry of both files (the pair stays one checkpoint's). */
async function setMetadata(dir: string, key: string, value: string): Promise<void> {
  const script = `import onnx, sys\nfor f in sys.argv[1:]:\n  m = onnx.load(f)\n  for p in m.metadata_props:\n    if p.key == ${JSON.stringify(key)}: p.value = ${JSON.stringify(value)}\n  onnx.save(m, f)\n`;
  await promisify(execFile)('/usr/bin/python3', ['-c', script, path.join(dir, 'model.onnx'), path.join(dir, 'model.tencrop.onnx')]);
}

export async function makeExports(dir: string): Promise<Exports> {
  const [a, b] = await Promise.all([exportTiny(dir, 'a', 1, 'a0,a1,a2'), exportTiny(dir, 'b', 2, 'b0,b1,b2')]);
  const corrupt = path.join(dir, 'corrupt');
  await fs.cp(a, corrupt, { recursive: true });
  const bytes = await fs.readFile(path.join(corrupt, 'model.onnx'));
  await fs.writeFile(path.join(corrupt, 'model.onnx'), bytes.subarray(0, bytes.length >> 1));
  const wrongShape = path.join(dir, 'wrong-shape');
  await fs.cp(a, wrongShape, { recursive: true });
  await setMetadata(wrongShape, 'alexnet.base_size', '37');
  return { a, b, corrupt, wrongShape };
}

/** Publish `from` as `repo/<name>/<version>` the documented way: copy under another name, then rename. */
export async function publish(repo: string, name: string, version: number, from: string): Promise<void> {
  const partial = path.join(repo, name, `.${version}.partial`);
  await fs.mkdir(path.dirname(partial), { recursive: true });
  await fs.cp(from, partial, { recursive: true });
  await fs.rename(partial, path.join(repo, name, String(version)));
}
