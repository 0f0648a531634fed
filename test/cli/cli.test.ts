/** The `alexnet` command as a user runs it: a real child process, exit codes and messages. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../temp-dir.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');
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

test('--version prints the package version; embed takes --json (what it prints anyway) as the other commands do', async (t) => {
  const pkg = JSON.parse(await fs.readFile(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) t.deepEqual(await alexnet(flag), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  const embed = await alexnet('embed', 'no-such.png', '--json', '--server', '127.0.0.1:1');
  t.is(embed.code, 1);
  t.regex(embed.stderr, /cannot read no-such\.png: no such file/);
});

test('npm run alexnet takes paths from where npm was run, not the package folder', async (t) => {
  const dir = await tempDir('cli-npm-run');
  const root = path.resolve(path.dirname(cli), '../..');
  const r = await promisify(execFile)('npm', ['--prefix', root, 'run', '--silent', 'alexnet', '--', 'init', '--preset', 'tiny', '--classes', '2', '--out', 'rel'], { cwd: dir });
  t.regex(r.stdout + r.stderr, /rel/);
  t.true((await fs.stat(path.join(dir, 'rel', 'checkpoint.json'))).isFile());
  await t.throwsAsync(fs.stat(path.join(root, 'rel')), undefined, 'nothing written in the package folder');
});

test('init writes a checkpoint; bad input exits 1 with a message', async (t) => {
  const dir = await tempDir('cli');
  const ok = await alexnet('init', '--preset', 'tiny', '--labels', 'cat,dog,bird', '--out', path.join(dir, 'ck'));
  t.is(ok.code, 0, ok.stderr);
  const json = JSON.parse(await fs.readFile(path.join(dir, 'ck', 'checkpoint.json'), 'utf8'));
  t.deepEqual(json.labels, ['cat', 'dog', 'bird']);
  t.is(json.classes, 3);

  // A second init into the same --out would replace those weights: refused, the checkpoint left as it was.
  const before = await fs.readdir(path.join(dir, 'ck'));
  const again = await alexnet('init', '--preset', 'tiny', '--classes', '5', '--out', path.join(dir, 'ck'));
  t.is(again.code, 1);
  t.regex(again.stderr, /already holds a checkpoint: give another --out/);
  t.deepEqual(await fs.readdir(path.join(dir, 'ck')), before);
  t.deepEqual(JSON.parse(await fs.readFile(path.join(dir, 'ck', 'checkpoint.json'), 'utf8')), json);

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
  const dir = await tempDir('cli');
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

test('train --dropout and --weight-decay: saved with a new run, change its training, and a resume keeps them', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const dir = await tempDir('cli-regularisers');
  const data = path.join(dir, 'data');
  await writeSyntheticDataset({ out: data, perClassTrain: 8, perClassVal: 4, size: 36 });
  const run = async (name: string, ...extra: string[]) => {
    const out = path.join(dir, name);
    const r = await alexnet('train', '--data', data, '--out', out, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--epochs', '1', '--batch-size', '16', '--seed', '4', '--no-ten-crop', ...extra);
    t.is(r.code, 0, r.stderr);
    const saved = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'));
    const metrics = JSON.parse((await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n')[0]!);
    return { out, saved, loss: metrics.trainLoss as number };
  };
  const paper = await run('paper');
  const noDropout = await run('no-dropout', '--dropout', '0');
  const decay = await run('decay', '--weight-decay', '0.05');
  t.is(paper.saved.network.dropout, 0.5);
  t.is(paper.saved.training.config.weightDecay, 0.0005);
  t.is(noDropout.saved.network.dropout, 0);
  t.is(decay.saved.training.config.weightDecay, 0.05);
  // The same seed and data: only the setting differs, and the training with it.
  t.not(noDropout.loss, paper.loss);
  t.not(decay.loss, paper.loss);
  t.log(`first-epoch loss: paper ${paper.loss}, dropout 0 ${noDropout.loss}, weight decay 0.05 ${decay.loss}`);

  const common = ['--data', data, '--out', noDropout.out, '--backend', 'cpu', '--resume', '--epochs', '2'];
  const dropout = await alexnet('train', ...common, '--dropout', '0.5');
  t.is(dropout.code, 1);
  t.regex(dropout.stderr, /was started with dropout 0, not 0\.5: a resumed run keeps its network/);
  const wd = await alexnet('train', ...common, '--weight-decay', '0.001');
  t.is(wd.code, 1);
  t.regex(wd.stderr, /was started with weightDecay 0\.0005, not 0\.001/);
  const bad = await alexnet('train', '--data', data, '--out', path.join(dir, 'bad'), '--dropout', '1');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--dropout.*must be a number from 0 to less than 1/);
  // A learning rate far too high: a warning once the loss is far above chance, then a message (no stack) when it is NaN.
  const wild = await alexnet('train', '--data', data, '--out', path.join(dir, 'wild'), '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--epochs', '4', '--batch-size', '16', '--seed', '4', '--patience', '9', '--lr', '10', '--no-ten-crop');
  t.is(wild.code, 1, wild.stderr);
  t.regex(wild.stderr, /warning: the training loss \S+ is far above a guess's 1\.39 \(ln 4\): training is diverging/);
  t.regex(wild.stderr, /alexnet: the loss became NaN at epoch \d+, batch \d+: training diverged .* a lower --lr than 10, e\.g\. 1/);
  t.notRegex(wild.stderr, /at .*\.js:\d+/, 'a message, not a stack trace');
  // A run that fails before its first checkpoint leaves no empty --out behind; one that existed stays.
  const nodata = await alexnet('train', '--data', path.join(dir, 'no-such-data'), '--out', path.join(dir, 'never'), '--backend', 'cpu');
  t.is(nodata.code, 1);
  t.regex(nodata.stderr, /no such directory/);
  await t.throwsAsync(fs.stat(path.join(dir, 'never')));
  await fs.mkdir(path.join(dir, 'mine'));
  t.is((await alexnet('train', '--data', path.join(dir, 'no-such-data'), '--out', path.join(dir, 'mine'), '--backend', 'cpu')).code, 1);
  t.true((await fs.stat(path.join(dir, 'mine'))).isDirectory());
});

test('train --resume goes on with the run\'s own settings, may change epochs and patience, and refuses a different seed or preset', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const dir = await tempDir('cli-resume');
  const data = path.join(dir, 'data');
  const out = path.join(dir, 'run');
  await writeSyntheticDataset({ out: data, perClassTrain: 8, perClassVal: 4, size: 36 });
  const common = ['--data', data, '--out', out, '--backend', 'cpu', '--threads', '1'];
  const first = await alexnet('train', ...common, '--preset', 'tiny', '--epochs', '1', '--batch-size', '16', '--patience', '5', '--seed', '4', '--no-ten-crop');
  t.is(first.code, 0, first.stderr);

  // No flags but --epochs: the saved patience, seed, batch size and center-only validation, not the defaults.
  const resumed = await alexnet('train', ...common, '--resume', '--epochs', '2');
  t.is(resumed.code, 0, resumed.stderr);
  const line = JSON.parse(/training tiny on .*?; (\{.*\})/.exec(resumed.stderr)?.[1] ?? '{}');
  t.like(line, { preset: 'tiny', epochs: 2, patience: 5, seed: 4, batchSize: 16, tenCropEachEpoch: false });
  const metrics = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.is(metrics.length, 2);
  t.is(metrics[1].val.ten, undefined, 'the resumed epoch validated with the center crop only, as the run was started');

  // A setting a resume may change is saved with the run.
  const longer = await alexnet('train', ...common, '--resume', '--epochs', '3', '--patience', '7');
  t.is(longer.code, 0, longer.stderr);
  const saved = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'));
  t.like(saved.training.config, { epochs: 3, patience: 7, seed: 4 });
  t.is(saved.training.epoch, 3);

  // --ten-crop turns the ten-crop validation back on for the epochs that follow.
  const tenAgain = await alexnet('train', ...common, '--resume', '--epochs', '4', '--ten-crop');
  t.is(tenAgain.code, 0, tenAgain.stderr);
  const after = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  t.is(after.length, 4);
  t.is(after[2].val.ten, undefined);
  t.is(typeof after[3].val.ten?.top1, 'number', 'the fourth epoch validated with ten crops');

  // One that would make it another run is refused before any training, and the checkpoint is untouched.
  const before = await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8');
  const seed = await alexnet('train', ...common, '--resume', '--epochs', '5', '--seed', '9');
  t.is(seed.code, 1);
  t.regex(seed.stderr, /was started with seed 4, not 9: a resumed run keeps it/);
  const preset = await alexnet('train', ...common, '--resume', '--epochs', '5', '--preset', 'mini');
  t.is(preset.code, 1);
  t.regex(preset.stderr, /was started with preset "tiny", not "mini"/);
  // Checked against the checkpoint before any data is read or prepared.
  const early = await alexnet('train', '--data', path.join(dir, 'not-there'), '--out', out, '--resume', '--batch-size', '32');
  t.is(early.code, 1);
  t.regex(early.stderr, /was started with batchSize 16, not 32/);
  t.is(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'), before);

  // A checkpoint from before --threads was saved: the resume uses every core, not one thread.
  const old = JSON.parse(before);
  delete old.training.config.threads;
  await fs.writeFile(path.join(out, 'checkpoint.json'), JSON.stringify(old));
  const legacy = await alexnet('train', '--data', data, '--out', out, '--backend', 'cpu', '--resume', '--epochs', '5');
  t.is(legacy.code, 0, legacy.stderr);
  t.like(JSON.parse(/training tiny on .*?; (\{.*\})/.exec(legacy.stderr)?.[1] ?? '{}'), { threads: os.availableParallelism(), seed: 4, epochs: 5 });
});

test('train keeps its best validation epoch in <out>/best and --export exports that one; a new run never overwrites an old one', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const { readModelMetadata } = await import('../../src/model/onnx-metadata.js');
  const dir = await tempDir('cli-best');
  const data = path.join(dir, 'data');
  const out = path.join(dir, 'run');
  await writeSyntheticDataset({ out: data, perClassTrain: 8, perClassVal: 4, size: 36 });
  const common = ['--data', data, '--out', out, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--batch-size', '16', '--patience', '9', '--no-ten-crop'];
  // lr 0.05 on 16 validation images: a noisy run whose best epoch (2 on tfjs-cpu) is not its last.
  const r = await alexnet('train', ...common, '--epochs', '6', '--lr', '0.05', '--export');
  t.is(r.code, 0, r.stderr);

  // The oracle: the first epoch with the lowest validation error, read from the metrics file.
  const errors = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).val.center.top1 as number);
  t.is(errors.length, 6);
  const bestEpoch = errors.indexOf(Math.min(...errors)) + 1;
  t.not(bestEpoch, 6, `the run's settings no longer make a run whose last epoch is not its best (validation errors ${errors.join(', ')}): change them`);
  const last = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'));
  const best = JSON.parse(await fs.readFile(path.join(out, 'best', 'checkpoint.json'), 'utf8'));
  t.is(last.training.epoch, 6);
  t.is(best.training.epoch, bestEpoch, `validation errors ${errors.join(', ')}`);
  t.is(best.training.bestError, Math.min(...errors));
  t.not(best.sha256, last.sha256);
  t.regex(r.stdout, new RegExp(`exporting the best epoch's checkpoint \\(epoch ${bestEpoch},`));
  // The exported models carry the SHA-256 of the weights they were made from: the best epoch's.
  t.is((await readModelMetadata(path.join(out, 'model.onnx'))).checkpointSha256, best.sha256);
  t.is((await readModelMetadata(path.join(out, 'model.tencrop.onnx'))).checkpointSha256, best.sha256);

  // Exporting the run's own directory exports its last epoch, and says where the best one is.
  const plain = await alexnet('export', out, '-o', path.join(dir, 'last.onnx'));
  t.is(plain.code, 0, plain.stderr);
  t.is((await readModelMetadata(path.join(dir, 'last.onnx'))).checkpointSha256, last.sha256);
  t.regex(plain.stderr, new RegExp(`last epoch \\(6\\); its best validation epoch is ${bestEpoch} .*alexnet export .*best`));
  // Exporting best/ itself needs no note.
  const fromBest = await alexnet('export', path.join(out, 'best'), '-o', path.join(dir, 'best.onnx'));
  t.is(fromBest.code, 0, fromBest.stderr);
  t.notRegex(fromBest.stderr, /best validation epoch/);
  t.is((await readModelMetadata(path.join(dir, 'best.onnx'))).checkpointSha256, best.sha256);

  // A new run into the same directory is refused before any training, and the run is untouched.
  const again = await alexnet('train', ...common, '--epochs', '1');
  t.is(again.code, 1);
  t.regex(again.stderr, /already holds a training run \(6 epochs done\): add --resume to go on with it, or give another --out/);
  t.deepEqual(JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8')), last);
  t.deepEqual(JSON.parse(await fs.readFile(path.join(out, 'best', 'checkpoint.json'), 'utf8')), best);
  // A checkpoint with no training in it (alexnet init) is not overwritten either.
  t.is((await alexnet('init', '--preset', 'tiny', '--classes', '4', '--out', path.join(dir, 'init'))).code, 0);
  const onInit = await alexnet('train', ...common.map((a) => (a === out ? path.join(dir, 'init') : a)), '--epochs', '1');
  t.is(onInit.code, 1);
  t.regex(onInit.stderr, /init already holds a checkpoint: give another --out/);
  // Nor a folder holding files of the names a run writes (best/, metrics.jsonl) without a checkpoint.
  const notes = path.join(dir, 'notes');
  await fs.mkdir(path.join(notes, 'best'), { recursive: true });
  await fs.writeFile(path.join(notes, 'best', 'notes.txt'), 'mine');
  await fs.writeFile(path.join(notes, 'metrics.jsonl'), '{"mine":1}\n');
  const onNotes = await alexnet('train', ...common.map((a) => (a === out ? notes : a)), '--epochs', '1');
  t.is(onNotes.code, 1);
  t.regex(onNotes.stderr, /notes holds best and metrics\.jsonl but no checkpoint: a new run would write over them/);
  t.is(await fs.readFile(path.join(notes, 'best', 'notes.txt'), 'utf8'), 'mine');
  t.is(await fs.readFile(path.join(notes, 'metrics.jsonl'), 'utf8'), '{"mine":1}\n');
});

test('train on data prepared for another base size exits 1 and says how to prepare it', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const dir = await tempDir('cli-base');
  const images = path.join(dir, 'images');
  const cache = path.join(dir, 'cache-tiny');
  await writeSyntheticDataset({ out: images, perClassTrain: 4, perClassVal: 2, size: 36 });
  const prepared = await alexnet('data', 'prepare', images, '--preset', 'tiny', '--out', cache);
  t.is(prepared.code, 0, prepared.stderr);
  const out = path.join(dir, 'run');
  const wrong = await alexnet('train', '--data', cache, '--preset', 'mini', '--out', out, '--backend', 'cpu', '--threads', '1');
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /the data was prepared at 29x29, the mini preset needs 40x40: prepare it for mini \(alexnet data prepare IMAGE_DIR --preset mini/);
  t.notRegex(wrong.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
  await t.throwsAsync(fs.access(path.join(out, 'checkpoint.json')), undefined, 'no checkpoint written');
});

test('progress ETAs read as a person would write them', async (t) => {
  const { formatSeconds } = await import('../../src/cli/progress.js');
  t.is(formatSeconds(7.4), '7s');
  t.is(formatSeconds(59.6), '1m00s');
  t.is(formatSeconds(75), '1m15s');
  t.is(formatSeconds(4000), '1h06m');
  t.is(formatSeconds(3 * 3600 + 59), '3h00m');
});

test('train --labels: the checkpoint and the export answer with the texts, eval still matches the class folders and --report writes both files', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const { readModelMetadata } = await import('../../src/model/onnx-metadata.js');
  const dir = await tempDir('cli-labels');
  const data = path.join(dir, 'data');
  await writeSyntheticDataset({ out: data, perClassTrain: 8, perClassVal: 4, size: 36 });
  const folders = (await fs.readdir(path.join(data, 'train'))).sort();
  const text = (f: string) => `the ${f} kind, with spaces`;
  const labelsFile = path.join(dir, 'synsets.txt');
  // ImageNet's file lists classes the data does not have: they are ignored.
  await fs.writeFile(labelsFile, ['n01440764 tench, Tinca tinca', ...[...folders].reverse().map((f) => `${f} ${text(f)}`)].join('\n') + '\n');
  const out = path.join(dir, 'run');
  const common = ['--data', data, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--epochs', '1', '--batch-size', '16', '--no-ten-crop'];
  const r = await alexnet('train', ...common, '--out', out, '--labels', labelsFile, '--export');
  t.is(r.code, 0, r.stderr);
  const saved = JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8'));
  t.deepEqual(saved.labels, folders.map(text));
  t.deepEqual(saved.classIds, folders);
  for (const file of ['model.onnx', 'model.tencrop.onnx']) {
    const meta = await readModelMetadata(path.join(out, file));
    t.deepEqual(meta.labels, folders.map(text), file);
    t.deepEqual(meta.classIds, folders, file);
  }

  const report = path.join(dir, 'report');
  const onnx = await alexnet('eval', path.join(out, 'model.onnx'), '--data', data, '--center', '--report', report);
  t.is(onnx.code, 0, onnx.stderr);
  t.regex(onnx.stdout, /^16 images, center crop, onnxruntime cpu: top-1 error/m);
  t.regex(onnx.stderr, /^evaluating \(center crop\): 16\/16$/m, 'progress on stderr (a line in a log; a bar on a terminal)');
  t.true(onnx.stdout.includes(`wrote ${path.join(report, 'report.json')}, ${path.join(report, 'confusion.svg')}`), onnx.stdout);
  const json = JSON.parse(await fs.readFile(path.join(report, 'report.json'), 'utf8'));
  t.deepEqual(json.confusion.labels, folders.map(text));
  // Each row of the matrix holds the images of one class folder of val/.
  for (const [i, f] of folders.entries()) t.is(json.confusion.matrix[i].reduce((a: number, b: number) => a + b, 0), (await fs.readdir(path.join(data, 'val', f))).length, f);
  t.is(json.classes.map((c: { support: number }) => c.support).join(), '4,4,4,4');
  const svg = await fs.readFile(path.join(report, 'confusion.svg'), 'utf8');
  t.regex(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const f of folders) t.true(svg.includes(text(f)), f);
  const checkpoint = await alexnet('eval', out, '--data', data, '--center', '--backend', 'cpu');
  t.is(checkpoint.code, 0, checkpoint.stderr);
  t.regex(checkpoint.stdout, /^16 images, center crop, tfjs cpu: top-1 error/m);
  t.regex(checkpoint.stderr, /^evaluating \(center crop\): 16\/16$/m);

  // Served: each answer names its class folder beside the label, and GetModelInfo lists them.
  const { startServer } = await import('../../src/serve/server.js');
  const { AlexNetClient } = await import('../../src/serve/client.js');
  const { quiet } = await import('../serve-fixtures.js');
  const server = await startServer({ model: path.join(out, 'model.onnx'), index: path.join(dir, 'index'), port: 0, device: 'cpu', logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    t.deepEqual((await client.modelInfo()).class_ids, folders);
    const image = await fs.readFile(path.join(data, 'val', folders[0]!, (await fs.readdir(path.join(data, 'val', folders[0]!)))[0]!));
    const answer = await client.classify({ image, top_k: folders.length });
    t.deepEqual(answer.classes.map((c) => [c.label, c.class_id]).sort(), folders.map((f) => [text(f), f]).sort());
    const cli = await alexnet('classify', path.join(data, 'val', folders[0]!), '--server', server.address, '--top-k', '1');
    t.regex(cli.stdout, /^ +[\d.]+% {2}the (\S+) kind, with spaces \(\1, \d\)$/m);
  } finally {
    client.close();
    await server.shutdown('test done');
  }

  // A resume keeps its labels: the same file is accepted, another text refused.
  const other = path.join(dir, 'other.txt');
  await fs.writeFile(other, folders.map((f) => `${f} another ${f}`).join('\n'));
  const refused = await alexnet('train', ...common, '--out', out, '--resume', '--epochs', '2', '--labels', other);
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`started with the label 'the ${folders[0]} kind, with spaces' for class folder ${folders[0]}, not 'another ${folders[0]}'.*a resumed run keeps its labels`));

  // A class folder without a line, a missing file: exit 1 with the reason, nothing trained.
  await fs.writeFile(other, folders.slice(1).map((f) => `${f} ${text(f)}`).join('\n'));
  const missing = await alexnet('train', ...common, '--out', path.join(dir, 'missing'), '--labels', other);
  t.is(missing.code, 1);
  t.regex(missing.stderr, new RegExp(`other\\.txt has no line for the class folder\\(s\\) ${folders[0]} of the data`));
  await t.throwsAsync(fs.access(path.join(dir, 'missing', 'checkpoint.json')));
  const none = await alexnet('train', ...common, '--out', path.join(dir, 'none'), '--labels', path.join(dir, 'nothing.txt'));
  t.is(none.code, 1);
  t.regex(none.stderr, /cannot read labels file .*nothing\.txt: no such file/);
});

test('train --max-steps: stops with a checkpoint and says so, does not export, and --resume continues to the same weights as one run', async (t) => {
  const { writeSyntheticDataset } = await import('../../src/train/synthetic.js');
  const dir = await tempDir('cli-max-steps');
  const data = path.join(dir, 'data');
  await writeSyntheticDataset({ out: data, perClassTrain: 8, perClassVal: 4, size: 36 });
  // 32 training images in batches of 8: 4 steps an epoch.
  const common = ['--data', data, '--backend', 'cpu', '--threads', '1', '--preset', 'tiny', '--epochs', '2', '--batch-size', '8', '--seed', '3', '--no-ten-crop'];
  const out = path.join(dir, 'run');
  const first = await alexnet('train', ...common, '--out', out, '--max-steps', '2', '--export');
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /checkpoint: .*checkpoint\.json \(stopped at the step limit \(--max-steps 2\): continue with --resume\)/);
  t.regex(first.stdout, /not exporting: the run stopped at the step limit/);
  await t.throwsAsync(fs.access(path.join(out, 'model.onnx')));
  const ck = async (d: string) => JSON.parse(await fs.readFile(path.join(d, 'checkpoint.json'), 'utf8'));
  t.like((await ck(out)).training, { epoch: 0, batch: 2 });

  // Counted from the start of each invocation: 2 more of epoch 1, then 1 of epoch 2.
  const second = await alexnet('train', ...common.slice(0, 2), '--out', out, '--backend', 'cpu', '--resume', '--max-steps', '3');
  t.is(second.code, 0, second.stderr);
  t.like((await ck(out)).training, { epoch: 1, batch: 1 });
  const last = await alexnet('train', ...common.slice(0, 2), '--out', out, '--backend', 'cpu', '--resume');
  t.is(last.code, 0, last.stderr);
  t.notRegex(last.stdout, /stopped/);

  const whole = path.join(dir, 'whole');
  t.is((await alexnet('train', ...common, '--out', whole)).code, 0);
  const [a, b] = [await ck(out), await ck(whole)];
  t.is(a.training.epoch, 2);
  t.is(a.sha256, b.sha256, 'the stopped and resumed run ends with the weights of the uninterrupted one');
  t.is((await alexnet('train', ...common, '--out', path.join(dir, 'zero'), '--max-steps', '0')).code, 1);
});
