/**
 * Checkpoint -> two ONNX files:
 *   <out>               single-crop: `input` float [N,3,S,S] (mean subtracted) -> `probabilities`
 *                       [N,C], `fc7` [N,F]
 *   <out minus .onnx>.tencrop.onnx
 *                       ten-crop: `images` uint8 [N,B,B,3] raw RGB -> the same outputs, each the
 *                       average over the ten crops of §5
 * Both carry their metadata (labels, preset, sizes, mean, format version, checkpoint hash; keys
 * in model/onnx-metadata.ts). The mean: a per-channel mean is JSON `{kind:'channel', values}`;
 * a mean image [B,B,3] is a float32 initializer `mean` inside the ten-crop graph (subtracted
 * there) and, in BOTH files, the metadata prop `alexnet.mean` = JSON `{kind:'image', shape,
 * encoding:'float32-le-base64', data}`, so a server feeding the single-crop model can subtract
 * it itself (readModelMetadata decodes it; 1 MB of text for the paper's 256x256x3).
 * Both files are written completely to temporary names before either is renamed into place:
 * a failed export leaves no partial file.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InterruptedError, ModelFileError } from '../errors.js';
import { readCheckpoint, type Checkpoint } from '../model/checkpoint.js';
import { tenCropPath } from '../model/model-files.js';
import { temporaryName, writeSynced } from '../util/atomic-file.js';
import { MODEL_FORMAT_VERSION, metadataProps, type ModelForm, type ModelMetadata } from '../model/onnx-metadata.js';
import { addNetwork, addWeights } from './alexnet-graph.js';
import { encodeModel, FLOAT, GraphBuilder, UINT8 } from '../model/onnx-builder.js';
import { addTenCrop } from './ten-crop.js';

export interface ExportedFile {
  path: string;
  form: ModelForm;
  bytes: number;
}

export interface ExportResult {
  files: ExportedFile[];
  metadata: ModelMetadata;
}

function metadataOf(ck: Checkpoint, form: ModelForm): ModelMetadata {
  const b = ck.network.baseSize;
  const mean: ModelMetadata['mean'] =
    ck.mean.kind === 'channel' ? { kind: 'channel', values: ck.mean.values } : { kind: 'image', shape: [b, b, 3], data: ck.tensors.get('mean')!.data };
  return {
    formatVersion: MODEL_FORMAT_VERSION,
    form,
    preset: ck.preset,
    labels: ck.labels,
    ...(ck.classIds ? { classIds: ck.classIds } : {}),
    inputSize: ck.network.inputSize,
    baseSize: b,
    embeddingDimension: ck.network.fcUnits[1],
    mean,
    checkpointSha256: ck.sha256,
  };
}

export function buildSingleCrop(ck: Checkpoint): Uint8Array {
  const { network: spec, classes } = ck;
  const g = new GraphBuilder();
  const s = spec.inputSize;
  const input = g.input('input', FLOAT, ['batch', 3, s, s]);
  addWeights(g, spec, ck.tensors);
  addNetwork(g, spec, input, { probabilities: 'probabilities', fc7: 'fc7' });
  g.output('probabilities', FLOAT, ['batch', classes]);
  g.output('fc7', FLOAT, ['batch', spec.fcUnits[1]]);
  const b = spec.baseSize;
  const o = Math.floor((b - s) / 2); // centerCropSpec's offset, as the server and eval cut it
  const doc =
    `AlexNet (${ck.preset}), single crop: input float32 [N,3,${s},${s}] (NCHW, RGB), pixel values 0-255 minus the mean, not scaled. ` +
    `As the server does it: resize the image so its shorter side is ${b} (Lanczos3), keep the central ${b}x${b} square, cut the ${s}x${s} crop ` +
    `at x=${o}, y=${o} of it, and subtract the mean of metadata alexnet.mean (3 channel values, or a ${b}x${b}x3 HWC image: subtract its pixels under the crop). ` +
    `Outputs: softmax probabilities [N,${classes}] in the order of alexnet.labels, and fc7 features [N,${spec.fcUnits[1]}].`;
  return encodeModel(g.model(`alexnet_${ck.preset}_single_crop`, metadataProps(metadataOf(ck, 'single-crop')), doc));
}

export function buildTenCrop(ck: Checkpoint): Uint8Array {
  const { network: spec, classes } = ck;
  const g = new GraphBuilder();
  const b = spec.baseSize;
  const images = g.input('images', UINT8, ['batch', b, b, 3]);
  addWeights(g, spec, ck.tensors);
  const mean = ck.mean.kind === 'channel' ? g.floats('mean', [3], Float32Array.from(ck.mean.values)) : g.floats('mean', [b, b, 3], ck.tensors.get('mean')!.data);
  addTenCrop(g, spec, classes, images, mean);
  g.output('probabilities', FLOAT, ['batch', classes]);
  g.output('fc7', FLOAT, ['batch', spec.fcUnits[1]]);
  const doc =
    `AlexNet (${ck.preset}), ten crops (paper §4.1): input uint8 [N,${b},${b},3] (NHWC), raw RGB 0-255: the image resized so its shorter side is ${b} (Lanczos3), its central ${b}x${b} square; ` +
    `the graph subtracts the mean and averages the softmax probabilities [N,${classes}] (in the order of alexnet.labels) and fc7 features [N,${spec.fcUnits[1]}] ` +
    `over the four corner and the center ${spec.inputSize}x${spec.inputSize} crops (center at x=y=${Math.floor((b - spec.inputSize) / 2)}) and their mirrors.`;
  return encodeModel(g.model(`alexnet_${ck.preset}_ten_crop`, metadataProps(metadataOf(ck, 'ten-crop')), doc));
}

export interface ExportOptions {
  /** Where the ten-crop model goes; default `tenCropPath(outPath)` (`<name>.tencrop.onnx` beside it). */
  tenCropPath?: string;
  /**
   * Aborted (Ctrl-C): an export whose files are still being written stops, removes its temporary
   * files and throws InterruptedError; once the renames have begun it completes (two renames).
   */
  signal?: AbortSignal;
}

/** A one-line reason for a failed write, in the user's terms (the errno code, not the temp name). */
function writeFailure(e: unknown, target: string): string {
  const dir = path.dirname(path.resolve(target));
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `directory ${dir} does not exist`;
    case 'ENOTDIR':
      return `${dir} is not a directory`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write in ${dir}`;
    case 'EROFS':
      return `${dir} is on a read-only file system`;
    case 'EISDIR':
      return `${target} is a directory`;
    case 'ENOSPC':
      return `no space left on the device of ${dir}`;
    default:
      return (e as Error).message.split('\n')[0]!;
  }
}

/**
 * Export a checkpoint to the two ONNX files. Both models are built in memory first (a bad
 * checkpoint fails before anything is written), then written to temporary names in the target
 * directories and renamed into place: the ten-crop model first, `outPath` last, so `outPath` is
 * the commit point. If anything fails, the temporary files and a ten-crop model renamed by this
 * call are removed: no partial file and no half-pair is left. (This is writeAtomic from
 * util/atomic-file.ts stretched over two files: each file alone could be written atomically,
 * but the pair could not.)
 * Throws CheckpointError (missing, corrupt, unknown preset), ModelFileError (cannot write) or
 * InterruptedError (options.signal aborted before the renames: nothing written).
 */
export async function exportCheckpoint(checkpointLocation: string, outPath: string, options: ExportOptions = {}): Promise<ExportResult> {
  // The server and eval open a model by its .onnx name; another name would be written and never found.
  if (!outPath.endsWith('.onnx') || outPath.endsWith('.tencrop.onnx')) {
    // A folder (typed with its slash, or one that exists) gets a file inside it.
    const isDir = outPath.endsWith('/') || (await fs.stat(outPath).then((st) => st.isDirectory(), () => false));
    const example = isDir ? path.join(outPath, 'model.onnx') : `${outPath.replace(/(\.tencrop)?(\.onnx)?$/, '')}.onnx`;
    throw new ModelFileError(`${outPath}: the single-crop model's name must end in .onnx (not .tencrop.onnx, its sibling's): e.g. ${example}`);
  }
  const { signal } = options;
  const tenPath = options.tenCropPath ?? tenCropPath(outPath);
  const interrupted = () => new InterruptedError(`export stopped before its files were renamed into place: nothing was written (${outPath} and ${tenPath} are as they were)`);
  const ck = await readCheckpoint(checkpointLocation);
  if (signal?.aborted) throw interrupted();
  if (path.resolve(tenPath) === path.resolve(outPath)) {
    throw new ModelFileError(`the single-crop and the ten-crop model would both be written to ${outPath}`);
  }
  // Rename order: ten-crop, then the single-crop model at outPath (the commit point).
  const targets: { path: string; form: ModelForm; bytes: Uint8Array; tmp: string }[] = [
    { path: tenPath, form: 'ten-crop', bytes: buildTenCrop(ck), tmp: '' },
    { path: outPath, form: 'single-crop', bytes: buildSingleCrop(ck), tmp: '' },
  ];
  const renamed: string[] = [];
  let current = targets[0]!.path;
  try {
    for (const t of targets) {
      signal?.throwIfAborted();
      current = t.path;
      t.tmp = temporaryName(t.path);
      await writeSynced(t.tmp, t.bytes, signal);
    }
    signal?.throwIfAborted(); // the last point of return: the two renames below are the commit
    for (const t of targets) {
      current = t.path;
      await fs.rename(t.tmp, t.path);
      renamed.push(t.path);
    }
  } catch (e) {
    const remove = (f: string) => fs.rm(f, { force: true }).catch(() => undefined); // ENOTDIR etc.: nothing is there
    await Promise.all(targets.filter((t) => t.tmp).map((t) => remove(t.tmp)));
    if (renamed.length < targets.length) await Promise.all(renamed.map(remove));
    if (signal?.aborted && renamed.length === 0) throw interrupted();
    throw new ModelFileError(`cannot write the model to ${current}: ${writeFailure(e, current)}`, { cause: e });
  }
  const files: ExportedFile[] = [targets[1]!, targets[0]!].map((t) => ({ path: t.path, form: t.form, bytes: t.bytes.byteLength }));
  return { files, metadata: metadataOf(ck, 'single-crop') };
}
