/** The `alexnet` command as a user runs it: a real child process, exit codes and messages. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const run = promisify(execFile);

async function alexnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

test('every subcommand explains itself with --help', async (t) => {
  const top = await alexnet('--help');
  t.is(top.code, 0);
  const commands = ['init', 'export', 'doctor', 'train', 'data'];
  for (const c of commands) t.regex(top.stdout, new RegExp(`^  ${c}\\b`, 'm'));
  for (const c of commands) {
    const r = await alexnet(c, '--help');
    t.is(r.code, 0, c);
    t.regex(r.stdout, new RegExp(`Usage: alexnet ${c}`), c);
  }
});

test('init writes a checkpoint; bad input exits 1 with a message', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-cli-'));
  const ok = await alexnet('init', '--preset', 'tiny', '--labels', 'cat,dog,bird', '--out', path.join(dir, 'ck'));
  t.is(ok.code, 0, ok.stderr);
  const json = JSON.parse(await fs.readFile(path.join(dir, 'ck', 'checkpoint.json'), 'utf8'));
  t.deepEqual(json.labels, ['cat', 'dog', 'bird']);
  t.is(json.classes, 3);

  const badPreset = await alexnet('init', '--preset', 'huge', '--out', path.join(dir, 'x'));
  t.is(badPreset.code, 1);
  t.regex(badPreset.stderr, /huge.*invalid.*paper, mini, tiny/);

  const mismatch = await alexnet('init', '--preset', 'tiny', '--classes', '4', '--labels', 'a,b', '--out', path.join(dir, 'y'));
  t.is(mismatch.code, 1);
  t.regex(mismatch.stderr, /2 labels given for 4 classes/);

  const unwritable = await alexnet('init', '--preset', 'tiny', '--out', '/dev/null/ck');
  t.is(unwritable.code, 1);
  t.regex(unwritable.stderr, /cannot create checkpoint directory \/dev\/null\/ck/);
  t.notRegex(unwritable.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
});

test('export writes both models; a missing checkpoint exits 1 with a message', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-cli-'));
  t.is((await alexnet('init', '--preset', 'tiny', '--out', path.join(dir, 'ck'))).code, 0);
  const ok = await alexnet('export', path.join(dir, 'ck'), '-o', path.join(dir, 'm.onnx'));
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /m\.onnx \(single-crop/);
  t.regex(ok.stdout, /m\.tencrop\.onnx \(ten-crop/);
  const missing = await alexnet('export', path.join(dir, 'nothing'), '-o', path.join(dir, 'n.onnx'));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /cannot read checkpoint .*nothing.*no such file/);
  t.false((await fs.readdir(dir)).includes('n.onnx'));
});

test('doctor lists every training backend and execution provider with a reason', async (t) => {
  const r = await alexnet('doctor');
  t.is(r.code, 0, r.stderr);
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu']) t.regex(r.stdout, new RegExp(`training \\(tfjs\\)\\s+${name}\\s+(yes|no)`));
  for (const name of ['cuda', 'tensorrt', 'webgpu', 'cpu']) t.regex(r.stdout, new RegExp(`inference \\(onnxruntime\\)\\s+${name}\\s+(yes|no)`));
  t.regex(r.stdout, /inference \(onnxruntime\)\s+cpu\s+yes/);
  t.regex(r.stdout, /training \(tfjs\)\s+wasm\s+yes/);
});
