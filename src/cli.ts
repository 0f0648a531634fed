#!/usr/bin/env node
/**
 * The one `alexnet` command. Side effects (printing, exit codes) live here only; every
 * subcommand loads its modules lazily so `alexnet --help` and `alexnet doctor` start fast.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { AlexNetError } from './errors.js';
import { PRESETS, getPreset } from './config.js';

const program = new Command();

program
  .name('alexnet')
  .description(
    'Train, export and serve AlexNet (Krizhevsky, Sutskever, Hinton, NIPS 2012).\n' +
      'Typical flow: alexnet init (or train) -> alexnet export -> serve.',
  )
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: false });

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

program
  .command('init')
  .description("write a checkpoint with the paper's random init (weights N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7)")
  .addOption(new Option('--preset <name>', 'network size').choices(Object.keys(PRESETS)).default('mini'))
  .option('--classes <n>', 'number of classes (default: 1000 for paper, 10 otherwise)', positiveInt)
  .option('--labels <list>', 'comma-separated class labels (default: class0, class1, ...)')
  .option('--labels-file <file>', 'file with one class label per line')
  .option('--seed <n>', 'random seed', positiveInt, 1)
  .requiredOption('--out <dir>', 'checkpoint directory to write')
  .addHelpText('after', '\nExample:\n  alexnet init --preset tiny --classes 3 --labels cat,dog,bird --out models/try')
  .action(async (opts: { preset: string; classes?: number; labels?: string; labelsFile?: string; seed: number; out: string }) => {
    const { writeInitCheckpoint } = await import('./model/init.js');
    const preset = getPreset(opts.preset);
    let labels: string[] | undefined;
    if (opts.labels) labels = opts.labels.split(',').map((s) => s.trim());
    if (opts.labelsFile) labels = readLabelsFile(opts.labelsFile);
    const classes = opts.classes ?? labels?.length ?? (preset.name === 'paper' ? 1000 : 10);
    const file = await writeInitCheckpoint({ preset, classes, seed: opts.seed, out: opts.out, ...(labels ? { labels } : {}) });
    console.log(`wrote ${file} (preset ${preset.name}, ${classes} classes, seed ${opts.seed})`);
  });

program
  .command('export')
  .description('export a checkpoint to ONNX: a single-crop model and a ten-crop model beside it')
  .argument('<checkpoint>', 'checkpoint directory (or its checkpoint.json)')
  .option('-o, --out <file>', 'single-crop model path; the ten-crop model is written as <name>.tencrop.onnx', 'model.onnx')
  .addHelpText(
    'after',
    '\nThe single-crop model takes float [N,3,S,S] mean-subtracted crops; the ten-crop model takes raw\n' +
      'uint8 RGB [N,B,B,3] images and does the mean subtraction, the ten crops and the averaging itself.\n' +
      'Both output softmax probabilities [N,classes] and fc7 features [N,F].',
  )
  .action(async (checkpoint: string, opts: { out: string }) => {
    const { exportCheckpoint } = await import('./export/export-model.js');
    const result = await exportCheckpoint(checkpoint, opts.out);
    for (const f of result.files) console.log(`wrote ${f.path} (${f.form}, ${(f.bytes / 1e6).toFixed(2)} MB)`);
  });

program
  .command('doctor')
  .description('show which training backends and onnxruntime execution providers work on this machine, and why the others do not')
  .action(async () => {
    const { probeTrainingBackends } = await import('./train/backends.js');
    const { probeExecutionProviders } = await import('./serve/execution-providers.js');
    const rows: [string, string, boolean, string][] = [];
    for (const b of await probeTrainingBackends()) rows.push(['training (tfjs)', b.name, b.available, b.detail]);
    for (const p of await probeExecutionProviders()) rows.push(['inference (onnxruntime)', p.name, p.available, p.detail]);
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    for (const [kind, name, ok, detail] of rows) {
      console.log(`${kind.padEnd(w0)}  ${name.padEnd(w1)}  ${ok ? 'yes' : 'no '}  ${detail}`);
    }
  });

function readLabelsFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  } catch (e) {
    throw new AlexNetError(`cannot read labels file ${file}: ${(e as Error).message}`);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof AlexNetError) {
    console.error(`alexnet: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
