/**
 * `alexnet export` stopped by Ctrl-C or SIGTERM while it writes: nothing is left behind (no
 * temporary file, no half of the pair), a model already at the output path is as it was, and the
 * exit code is a signal's (130, 143). The child is frozen (SIGSTOP) the moment its first temporary
 * file appears, so the signal is known to land before the export commits.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs, watch } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '../../src/config.js';
import { writeCheckpoint } from '../../src/model/checkpoint.js';
import { initParameters } from '../../src/model/init.js';
import { Rng } from '../../src/util/rng.js';
import { tempDir } from '../temp-dir.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

/** tiny's convolutions with wide fully connected layers: files large enough that writing them takes a while. */
async function wideCheckpoint(dir: string): Promise<string> {
  const network = { ...PRESETS.tiny.network, fcUnits: [4096, 4096] as [number, number] };
  const ck = path.join(dir, 'ck');
  await writeCheckpoint(ck, { preset: 'tiny', network, classes: 2, labels: ['a', 'b'], mean: { kind: 'channel', values: [127.5, 127.5, 127.5] } }, initParameters(network, 2, new Rng(1)));
  return ck;
}

/**
 * Export into `out` (a folder), freeze the child when its first temporary file appears, and if
 * the ten-crop model is still a temporary file then (nothing renamed yet), send `signal`.
 * Returns undefined when the freeze came too late (the export had committed): the caller retries.
 */
async function interruptWhileWriting(ck: string, out: string, signal: 'SIGINT' | 'SIGTERM') {
  const child = spawn(process.execPath, [cli, 'export', ck, '-o', path.join(out, 'm.onnx')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  let landed = false;
  const watcher = watch(out, (_, name) => {
    if (landed || !String(name).includes('.tmp-')) return;
    landed = true;
    child.kill('SIGSTOP');
  });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (landed || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  watcher.close();
  const files = await fs.readdir(out);
  // The ten-crop model is renamed first: while its temporary file is there, nothing is renamed.
  const writing = landed && files.some((f) => f.startsWith('m.tencrop.onnx.tmp-'));
  if (writing) child.kill(signal);
  if (landed) child.kill('SIGCONT');
  const [code, bySignal] = await exited;
  return writing ? { code, bySignal, stderr } : undefined;
}

for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`export stopped by ${signal} while writing leaves no file behind, keeps the model already there and exits ${exitCode}`, async (t) => {
    const dir = await tempDir('export-interrupt');
    const ck = await wideCheckpoint(dir);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    // A model already there (another export's): it must survive the interrupted one.
    await fs.writeFile(path.join(out, 'm.onnx'), 'earlier single-crop');
    await fs.writeFile(path.join(out, 'm.tencrop.onnx'), 'earlier ten-crop');
    let r;
    for (let attempt = 0; attempt < 5 && !r; attempt++) {
      r = await interruptWhileWriting(ck, out, signal);
      if (!r) {
        t.log(`attempt ${attempt + 1}: the export had committed before it could be frozen; again`);
        await fs.writeFile(path.join(out, 'm.onnx'), 'earlier single-crop');
        await fs.writeFile(path.join(out, 'm.tencrop.onnx'), 'earlier ten-crop');
      }
    }
    if (!r) return t.fail('the export was never caught writing its files');
    t.is(r.bySignal, null, `ended by the signal's default action, not by the command: ${r.stderr}`);
    t.is(r.code, exitCode, r.stderr);
    t.regex(r.stderr, new RegExp(`interrupted \\(${signal}\\).*nothing was written`));
    t.deepEqual((await fs.readdir(out)).sort(), ['m.onnx', 'm.tencrop.onnx'], 'no temporary file left');
    t.is(await fs.readFile(path.join(out, 'm.onnx'), 'utf8'), 'earlier single-crop');
    t.is(await fs.readFile(path.join(out, 'm.tencrop.onnx'), 'utf8'), 'earlier ten-crop');
  });
}
