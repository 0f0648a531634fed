/**
 * Checkpoint -> two ONNX files:
 *   <out>               single-crop: `input` float [N,3,S,S] (mean subtracted) -> `probabilities`
 *                       [N,C], `fc7` [N,F]
 *   <out minus .onnx>.tencrop.onnx
 *                       ten-crop: `images` uint8 [N,B,B,3] raw RGB -> the same outputs, each the
 *                       average over the ten crops of §5
 * Both carry their metadata (labels, preset, sizes, mean, format version, checkpoint hash).
 * Both files are written completely to temporary names before either is renamed into place:
 * a failed export leaves no partial file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import { readCheckpoint, type Checkpoint } from '../model/checkpoint.js';
import { MODEL_FORMAT_VERSION, metadataProps, type ModelForm, type ModelMetadata } from '../model/onnx-metadata.js';
import { addNetwork, addWeights } from './alexnet-graph.js';
import { encodeModel, FLOAT, GraphBuilder, UINT8 } from './onnx-builder.js';
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

export function tenCropPath(singleCropPath: string): string {
  const base = singleCropPath.endsWith('.onnx') ? singleCropPath.slice(0, -'.onnx'.length) : singleCropPath;
  return `${base}.tencrop.onnx`;
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
    inputSize: ck.network.inputSize,
    baseSize: b,
    fc7Size: ck.network.fcUnits[1],
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
  const doc = `AlexNet (${ck.preset}), single crop: input float [N,3,${s},${s}] RGB minus the mean (see metadata alexnet.mean); outputs softmax probabilities and fc7 features.`;
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
  const doc = `AlexNet (${ck.preset}), ten crops (paper §4.1): input uint8 [N,${b},${b},3] raw RGB; outputs softmax probabilities and fc7 features averaged over the four corner and centre ${spec.inputSize}x${spec.inputSize} crops and their mirrors.`;
  return encodeModel(g.model(`alexnet_${ck.preset}_ten_crop`, metadataProps(metadataOf(ck, 'ten-crop')), doc));
}

export async function exportCheckpoint(checkpointLocation: string, outPath: string): Promise<ExportResult> {
  const ck = await readCheckpoint(checkpointLocation);
  const targets: [string, ModelForm, () => Uint8Array][] = [
    [outPath, 'single-crop', () => buildSingleCrop(ck)],
    [tenCropPath(outPath), 'ten-crop', () => buildTenCrop(ck)],
  ];
  const temps: string[] = [];
  const files: ExportedFile[] = [];
  try {
    for (const [target, form, build] of targets) {
      const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      temps.push(tmp);
      const bytes = build();
      await fs.writeFile(tmp, bytes);
      files.push({ path: target, form, bytes: bytes.byteLength });
    }
  } catch (e) {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    const dir = path.dirname(path.resolve(outPath));
    throw new ModelFileError(`cannot write the model to ${outPath} (directory ${dir}): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  for (let i = 0; i < targets.length; i++) {
    try {
      await fs.rename(temps[i]!, targets[i]![0]);
    } catch (e) {
      await Promise.all(temps.slice(i).map((t) => fs.rm(t, { force: true })));
      throw new ModelFileError(`cannot write the model to ${targets[i]![0]}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }
  return { files, metadata: metadataOf(ck, 'single-crop') };
}
