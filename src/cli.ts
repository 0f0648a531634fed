#!/usr/bin/env node
/**
 * The one `alexnet` command. Side effects (printing, exit codes) live here only; every
 * subcommand loads its modules lazily so `alexnet --help` and `alexnet doctor` start fast.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { batchDelay, dropoutRate, fraction, niceValue, nonNegativeNumber, percent, port, positiveInt, positiveNumber, timerMs, timerSeconds } from './cli/arg-parsers.js';
import { addClientOptions } from './cli/client-options.js';
import { readLabelsFile, refuseEmptyOptions } from './cli/option-checks.js';
import { exitOnInterrupt } from './cli/interrupt.js';
import { registerSearchCommands } from './cli/search-commands.js';
import { AlexNetError } from './errors.js';
import { DEFAULT_PRESET, PRESETS, RUN_DEFAULTS, getPreset } from './config.js';


// `npm run alexnet -- ...` runs in the package's folder; the paths typed are relative to where npm was run.
if (process.env.npm_lifecycle_event === 'alexnet' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

// `alexnet embed dir/ | head -1`: the reader has what it wanted. Node ignores SIGPIPE and throws EPIPE
// with a stack at the next write; end quietly instead, exit 0, as a command that has printed all it should.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

const program = new Command();

program
  .name('alexnet')
  .description(
    'Train, export and serve AlexNet (Krizhevsky, Sutskever, Hinton, NIPS 2012).\n' +
      'Typical flow: alexnet init (or train) -> alexnet export -> serve.',
  )
  .version((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version, '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: false })
  .hook('preAction', (_program, command) => refuseEmptyOptions(command));

program
  .command('init')
  .description("write a checkpoint with the paper's random init: weights N(0, 0.01), biases 1 in conv2, conv4, conv5, fc6, fc7, 0 elsewhere (mini and tiny, thinner: N(0, 0.03) and N(0, 0.1), biases 0.1)")
  .addOption(new Option('--preset <name>', 'network size').choices(Object.keys(PRESETS)).default(DEFAULT_PRESET))
  .option('--classes <n>', 'number of classes (default: 1000 for paper, 10 otherwise)', positiveInt)
  .option('--labels <list>', 'comma-separated class labels (default: class0, class1, ...)')
  .option('--labels-file <file>', 'file with one class label per line')
  .option('--seed <n>', 'random seed', positiveInt, 1)
  .requiredOption('-o, --out <dir>', 'checkpoint directory to write')
  .addHelpText('after', '\nExample:\n  alexnet init --preset tiny --classes 3 --labels cat,dog,bird --out models/try')
  .action(async (opts: { preset: string; classes?: number; labels?: string; labelsFile?: string; seed: number; out: string }) => {
    const { writeInitCheckpoint } = await import('./model/init.js');
    // Random weights never replace a trained run (or any checkpoint) by a typo of --out.
    await (await import('./train/run-dir.js')).refuseExistingRun(opts.out);
    const preset = getPreset(opts.preset);
    let labels: string[] | undefined;
    if (opts.labels) labels = opts.labels.split(',').map((s) => s.trim());
    if (opts.labelsFile) labels = readLabelsFile(opts.labelsFile);
    const classes = opts.classes ?? labels?.length ?? (preset.name === 'paper' ? 1000 : 10);
    const file = await writeInitCheckpoint({ preset, classes, seed: opts.seed, out: opts.out, ...(labels ? { labels } : {}) });
    console.log(`wrote ${file} (preset ${preset.name}, ${classes} classes, seed ${opts.seed})`);
  });

const data = program.command('data').description('prepare training data once: decoded, resized, with its mean image and RGB PCA');

data
  .command('prepare')
  .description('decode DIR/train/<class>/** and DIR/val/<class>/** (jpg, png, webp; subfolders and links followed) into a cache on disk, in parallel; Ctrl-C or a kill, then the same command again, goes on where it stopped')
  .argument('<dir>', 'data directory with train/ (and val/) class folders')
  .addOption(new Option('--preset <name>', 'preset whose base size the images are resized to').choices(Object.keys(PRESETS)).default(DEFAULT_PRESET))
  .option('--val-split <fraction>', 'hold out this fraction of each class of train for validation when there is no val/ folder', fraction)
  .option('-o, --out <dir>', 'cache directory (default: DIR/.alexnet-cache-<base>)')
  .option('--max-pixels <n>', 'skip images larger than this, in pixels (default: 250000000)', positiveInt)
  .addOption(new Option('--store <kind>', 'raw: decoded pixels (3 x base^2 bytes per image, read fastest); jpeg: each prepared square JPEG-encoded, a fraction of the size, decoded by the batch workers (default: jpeg for the paper preset, raw for the small ones)').choices(['raw', 'jpeg']))
  .option('--quality <q>', 'JPEG quality of --store jpeg, 1-100 (default: 90)', percent)
  .option('--workers <n>', 'images decoded at once (default: two per core)', positiveInt)
  .action(async (dir: string, opts: { preset: string; valSplit?: number; out?: string; store?: 'raw' | 'jpeg'; quality?: number; workers?: number; maxPixels?: number }) => {
    const { dataPrepareCommand } = await import('./cli/data-command.js');
    await dataPrepareCommand(dir, opts);
  });

data
  .command('sort-val')
  .description("move ImageNet's flat validation images (DIR/ILSVRC2012_val_*.JPEG) into DIR/<class>/ folders, the layout train, data prepare and eval read; never over a file; run again after an interruption")
  .argument('<dir>', 'the flat validation folder (Kaggle: ILSVRC/Data/CLS-LOC/val)')
  .requiredOption('--solution <file>', "each image's class: Kaggle's LOC_val_solution.csv ('ImageId,PredictionString', the first synset), or '<file> <class folder>' lines")
  .action(async (dir: string, opts: { solution: string }) => {
    const { sortValCommand } = await import('./cli/sort-val-command.js');
    await sortValCommand(dir, opts);
  });

data
  .command('fashion-mnist')
  .description("convert Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) into a cache: 28x28 grey upsampled (bicubic) to the base size, grey copied to R, G, B")
  .requiredOption('-o, --out <dir>', 'cache directory to write')
  .addOption(new Option('--preset <name>', 'preset whose base size the images are resized to').choices(Object.keys(PRESETS)).default(DEFAULT_PRESET))
  .option('--val <n>', 'training images held out for validation (default: a twelfth of them, 5000 of the 60,000)', positiveInt)
  .option('--limit <n>', 'use only the first N training and test images', positiveInt)
  .option('--source <dir>', 'directory of the IDX .gz files')
  .action(async (opts: { out: string; preset: string; val?: number; limit?: number; source?: string }) => {
    const { fashionMnistCommand } = await import('./cli/data-command.js');
    await fashionMnistCommand(opts);
  });

program
  .command('train')
  .description("train with the paper's recipe: SGD (momentum 0.9, weight decay 0.0005), lr divided by 10 on a validation plateau, random crops + flips + PCA lighting")
  .requiredOption('--data <dir>', 'data directory (train/ and val/ class folders) or a prepared cache')
  .addOption(new Option('--preset <name>', 'network size').choices(Object.keys(PRESETS)).default(DEFAULT_PRESET))
  .requiredOption('-o, --out <dir>', 'checkpoint directory (checkpoint.json, metrics.jsonl, curves.svg)')
  .addOption(new Option('--backend <name>', 'training backend').choices(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'))
  .option('--epochs <n>', 'maximum epochs (default: the preset\'s)', positiveInt)
  .option('--batch-size <n>', 'images per step (default: the preset\'s: 128, the paper\'s, for paper and mini; 16 for tiny)', positiveInt)
  .option('--lr <rate>', "initial learning rate (default: 0.01, the paper's at the preset's batch size; with another --batch-size, scaled with it: paper and mini 0.000625 at 8)", positiveNumber)
  .option('--weight-decay <w>', "weight decay in the paper's update rule, v <- 0.9v - w*lr*weights - lr*grad (default: 0.0005)", nonNegativeNumber)
  .option('--dropout <rate>', 'dropout on fc6 and fc7 while training, 0 to less than 1 (default: 0.5, the paper\'s)', dropoutRate)
  .option('--patience <n>', "epochs without validation improvement before the lr is divided by 10 (default: the preset's; 3 or more rides out validation noise)", positiveInt)
  .option('--seed <n>', 'random seed (init, order, augmentation, dropout)', positiveInt, RUN_DEFAULTS.seed)
  .option('--workers <n>', 'worker threads preparing batches (default: 1 beside a CPU backend, whose threads compute the gradients; all cores but two beside a GPU)', positiveInt)
  .option('--threads <n>', 'threads computing gradients, each on a shard of the batch (wasm and cpu backends; default: every core)', positiveInt)
  .option('--val-split <fraction>', 'validation fraction of each class when DIR has no val/ folder (default: the one DIR was prepared with)', fraction)
  .option('--cache <dir>', "where a folder's prepared images go (default: DIR/.alexnet-cache-<base>); prepared again whenever DIR's files change")
  .option('--max-pixels <n>', 'skip images larger than this, in pixels, when preparing a folder (default: 250000000)', positiveInt)
  .option('--ten-crop', 'validate with the ten crops as well as the center crop each epoch (the default for a new run)')
  .option('--no-ten-crop', 'validate with the center crop only each epoch (faster)')
  .option('--resume', "continue the run saved in --out exactly where it stopped, with its own preset and settings (it may change only --epochs, --patience, --workers, --threads, --ten-crop / --no-ten-crop)")
  .option('--export', "export the ONNX models into --out when training ends, from the best validation epoch's checkpoint (<out>/best); a run stopped early (Ctrl-C, --max-steps) does not export")
  .option('--labels <file>', "human-readable labels: one 'folder-name label text' line per class folder (as ImageNet's synset mapping: 'n01440764 tench, Tinca tinca'; a tab after a folder name with spaces); extra lines are ignored; a resume keeps its labels")
  .option('--max-steps <n>', 'stop after N steps of this invocation, saving a checkpoint as Ctrl-C does (--resume continues exactly)', positiveInt)
  .addHelpText('after', '\nCtrl-C or SIGTERM saves a checkpoint after the current step; --resume continues from it.\n<out>/checkpoint.json is the last epoch (to resume); <out>/best/ a copy of the epoch with the lowest\nvalidation error so far (to export: alexnet export <out>/best).\nExample:\n  alexnet data fashion-mnist --out data/fmnist\n  alexnet train --data data/fmnist --preset mini --out models/fmnist --export')
  .action(async (opts, cmd: Command) => {
    const { trainCommand } = await import('./cli/train-command.js');
    // A resumed run keeps its own settings: only what was typed may change them, not a default.
    for (const key of ['preset', 'seed', 'tenCrop']) if (cmd.getOptionValueSource(key) === 'default') delete opts[key];
    await trainCommand(opts);
  });

program
  .command('export')
  .description('export a checkpoint to ONNX: a single-crop model and a ten-crop model beside it')
  .argument('<checkpoint>', 'checkpoint directory (or its checkpoint.json)')
  .option('-o, --out <file>', 'single-crop model path; the ten-crop model is written as <name>.tencrop.onnx', 'model.onnx')
  .addHelpText(
    'after',
    '\nThe single-crop model takes float [N,3,S,S] RGB crops, pixel values 0-255 (not scaled) minus the mean in\n' +
      "its metadata (alexnet.mean); the ten-crop model takes raw uint8 RGB [N,B,B,3] images and does the mean\n" +
      'subtraction, the ten crops and the averaging itself. Both output softmax probabilities [N,classes] (in\n' +
      "the order of the metadata's alexnet.labels) and fc7 features [N,F]. Each file's doc_string says how the\n" +
      'server resizes and crops an image for it.',
  )
  .action(async (checkpoint: string, opts: { out: string }) => {
    const { exportCommand } = await import('./cli/export-command.js');
    await exportCommand(checkpoint, opts);
  });

program
  .command('eval')
  .description('top-1 / top-5 error of a checkpoint (tfjs) or an exported .onnx model (onnxruntime) on labelled images; ten crops by default')
  .argument('<model>', 'checkpoint directory, or the exported model.onnx (its .tencrop.onnx beside it is used for ten crops)')
  .requiredOption('--data <dir>', 'a prepared cache (its test split, else val) or a folder of class folders (DIR/test/<class>/*, DIR/val/<class>/* or DIR/<class>/*; a test/ of unlabelled images, without class folders, is passed over for val/)')
  .option('--center', "the center crop only, instead of the paper's ten crops")
  .addOption(
    new Option('--split <name>', 'the split to evaluate: DIR/<name>/ of a folder, or that split of a cache (train: how well the model fits its own training images)').choices([
      'train',
      'val',
      'test',
    ]),
  )
  .addOption(new Option('--backend <name>', 'tfjs backend for a checkpoint').choices(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'))
  .option('--report <dir>', 'also write <dir>/report.json (per-class precision, recall, F1, support; their averages; the confusion matrix) and <dir>/confusion.svg')
  .option('--cache <dir>', 'for a folder trained with --val-split and --cache: the cache that holds its split (default: DIR/.alexnet-cache-<base>)')
  .action(async (model: string, opts: { data: string; center?: boolean; split?: 'train' | 'val' | 'test'; backend: string; report?: string; cache?: string }) => {
    const { evalCommand } = await import('./cli/eval-command.js');
    await evalCommand(model, opts);
  });

/** The commands that call a running server. */
const CLIENT_COMMANDS = ['classify', 'embed', 'search', 'dedup'];

const DEVICES = ['auto', 'cpu', 'cuda', 'tensorrt', 'webgpu'];

program
  .command('serve')
  .description(
    'serve an exported model over gRPC (alexnet.v1.AlexNet: Classify, Embed, their streams, GetModelInfo; ' +
      'alexnet.v1.ImageSearch over an fc7 index; inference.GRPCInferenceService, the KServe v2 protocol; grpc.health.v1; server reflection). ' +
      'Classify averages the softmax over the ten crops of the paper.',
  )
  .option('--model <file>', 'the single-crop .onnx export (its .tencrop.onnx sibling is loaded too) (default: the shipped Fashion-MNIST model)')
  .option('--model-dir <dir>', 'serve a model repository instead: DIR/<name>/<version>/model.onnx (+ model.tencrop.onnx); publish a version by copying it under another name, then renaming its directory to the version number')
  .option('--model-name <name>', "the repository's model to serve (default: the only one there)")
  .option('--model-version <v>', "'latest' (default) or a version number to pin")
  .option('--watch-models', 'reload by itself when a version is published (otherwise: on SIGHUP). A new version is loaded and warmed beside the old, then swapped in; one that fails to load is logged and the old keeps serving')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port (0: any free port)', port, 50051)
  .addOption(new Option('--device <name>', 'onnxruntime execution provider; auto tries cuda, then webgpu, then cpu').choices(DEVICES).default('auto'))
  .option('--workers <n>', 'inference worker threads, each with its own sessions (default on cpu: one per core with 1 thread below 4 cores, else one per 4 cores; 1 on a GPU; cores: those of a cgroup CPU limit in a container, else the machine\'s)', positiveInt)
  .option('--threads <n>', 'onnxruntime threads per worker (default: cores / workers; given alone on cpu, workers = cores / threads)', positiveInt)
  .option('--max-batch <n>', 'most images in one batch (default: 4 on cpu, 16 on a GPU; bench/RESULTS.md says why)', positiveInt)
  .option('--max-delay-ms <ms>', 'longest an image waits for others to fill its batch, 0 to 10000 (default: 0 on cpu, 2 on a GPU; bench/RESULTS.md says why)', batchDelay)
  .option('--max-queue <n>', 'most images waiting; beyond it calls get RESOURCE_EXHAUSTED at once', positiveInt, 256)
  .option('--max-pixels <n>', 'largest image decoded, in pixels (checked from its header; larger ones get RESOURCE_EXHAUSTED); a decoded image holds 3 bytes per pixel while it is resized', positiveInt, 40_000_000)
  .option('--worker-nice <n>', 'nice value of the inference worker threads (0-19): above 0, the main thread (gRPC, refusals) and image decoding run first when every core is busy, so an overloaded server refuses in milliseconds; 0 for none', niceValue, 10)
  .option('--no-split-crops', 'run every image on one worker; by default a lone ten-crop image (nothing else waiting) has its ten crops divided among the free workers, so a single caller uses every core')
  .option('--grace <seconds>', 'on SIGTERM/SIGINT, how long calls in flight may take to finish', timerSeconds(), 10)
  .option('--max-connection-age <seconds>', "close each client connection after this long (gracefully, calls in flight finish), so long-lived clients reconnect and spread over replicas added since", timerSeconds(1.1), 1800)
  .option('--stats-interval-ms <ms>', 'log a "stats" line (level info) every <ms>: event-loop lag p99 and max and CPU cores used since the last line, images inferred, batches, split images, queued, in flight (default: off)', timerMs)
  .option('--index <dir|url>', 'the similarity index of alexnet.v1.ImageSearch: a directory (LanceDB, created on the first upsert) (default: <model dir>/<model name>.index/)')
  .option('--tls-cert <file>', 'serve TLS with this PEM certificate (chain); re-read when the file changes, so a rotated certificate needs no restart')
  .option('--tls-key <file>', 'the PEM private key of --tls-cert')
  .option('--tls-client-ca <file>', 'mutual TLS: refuse clients without a certificate signed by this PEM CA')
  .option('--auth-tokens <file>', 'refuse calls (UNAUTHENTICATED) without "authorization: Bearer <token>" naming a token of this file: one per line, optionally "<name> <token>" (the name goes in logs, the token never); re-read when it changes; grpc.health.v1 stays open for probes')
  .option('--metrics-port <n>', 'serve Prometheus /metrics, and /healthz and /readyz, over plaintext HTTP on this port (0: any free port)', port)
  .option('--metrics-host <host>', 'address of the metrics port (default: --host)')
  .addOption(new Option('--log-level <level>', 'debug logs one line per call').choices(['debug', 'info', 'warn', 'error']).default('info'))
  .addHelpText('after', '\nExample:\n  alexnet serve --model models/fmnist/model.onnx --port 50051 --device auto\n  grpcurl -plaintext localhost:50051 list   # reflection\n  alexnet serve --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key --auth-tokens tokens --metrics-port 9464   # production')
  .action(async (opts) => {
    const { serveCommand } = await import('./cli/serve-command.js');
    const { DEFAULT_MODEL } = await import('./model/model-files.js');
    await serveCommand({ ...opts, model: opts.model ?? (opts.modelDir ? undefined : DEFAULT_MODEL) });
  });

program
  .command('classify')
  .description('classify images with a running server: top-k labels and probabilities (ten crops by default)')
  .argument('<images...>', 'JPEG, PNG or WebP files, or folders (their .jpg, .jpeg, .jfif, .png and .webp files, subfolders too)')
  .option('-k, --top-k <k>', 'classes to show per image (default: 5, or every class of a model with fewer)', positiveInt)
  .option('--center', 'use the center crop only instead of the ten crops')
  .option('--json', 'print JSON instead of a table')
  .option('--timeout <seconds>', 'deadline of each call', positiveNumber, 30)
  .action(async (images: string[], opts) => {
    const { classifyCommand } = await import('./cli/serve-command.js');
    await classifyCommand(images, opts);
  });

program
  .command('embed')
  .description('fc7 feature vectors of images from a running server, one JSON object per line (for similarity search)')
  .argument('<images...>', 'JPEG, PNG or WebP files, or folders (their .jpg, .jpeg, .jfif, .png and .webp files, subfolders too)')
  .option('--normalize', 'scale each vector to unit length')
  .option('--center', 'use the center crop only instead of the ten crops')
  .option('--json', 'JSON lines: what embed always prints (taken so scripts may pass it to every command)')
  .option('--timeout <seconds>', 'deadline of each call', positiveNumber, 30)
  .action(async (images: string[], opts) => {
    const { embedCommand } = await import('./cli/serve-command.js');
    await embedCommand(images, opts);
  });

registerSearchCommands(program);
// Every client command reaches its server the same way (TLS, mTLS, token).
for (const c of program.commands) if (CLIENT_COMMANDS.includes(c.name())) addClientOptions(c);
for (const c of program.commands.find((c) => c.name() === 'index')!.commands) addClientOptions(c);
// Commands with nothing to save end at Ctrl-C with a line and exit 130 (train, data and serve handle it themselves).
program.hook('preAction', (_, action) => {
  if ([...CLIENT_COMMANDS, 'eval'].includes(action.name()) || action.parent?.name() === 'index') exitOnInterrupt();
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


try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof AlexNetError) {
    console.error(`alexnet: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
