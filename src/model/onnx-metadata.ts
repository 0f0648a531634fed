/**
 * The metadata an exported model carries about itself (ModelProto.metadata_props), written by
 * the exporter and read by the server and `alexnet eval`. No tensor library here.
 *
 * Keys (all strings): alexnet.format_version ("1"), alexnet.form ("single-crop" | "ten-crop"),
 * alexnet.preset, alexnet.labels (JSON array), alexnet.input_size (crop side S),
 * alexnet.base_size (image side B), alexnet.fc7_size, alexnet.checkpoint_sha256 (of the weights
 * file), alexnet.mean: JSON {"kind":"channel","values":[r,g,b]} or {"kind":"image","shape":
 * [B,B,3],"encoding":"float32-le-base64","data":"..."} (HWC, the same values as the ten-crop
 * graph's `mean` initializer). Optional: alexnet.class_ids (JSON array, the class folders the
 * model was trained on where they differ from the labels; files without it still read).
 * ModelProto.producer_name is "alexnet".
 */
import { promises as fs } from 'node:fs';
import onnxProto from 'onnx-proto';
import { ModelFileError } from '../errors.js';

const { onnx } = onnxProto;

export const MODEL_FORMAT_VERSION = 1;
export type ModelForm = 'single-crop' | 'ten-crop';

/** The mean the model expects subtracted: per channel, or an image [base, base, 3] (HWC). */
export type ModelMean = { kind: 'channel'; values: [number, number, number] } | { kind: 'image'; shape: [number, number, number]; data: Float32Array };

export interface ModelMetadata {
  formatVersion: number;
  form: ModelForm;
  preset: string;
  labels: string[];
  /** The data's class folder names, where they differ from `labels` (trained with --labels). */
  classIds?: string[];
  inputSize: number;
  baseSize: number;
  embeddingDimension: number;
  mean: ModelMean;
  checkpointSha256: string;
}

export function metadataProps(m: ModelMetadata): Record<string, string> {
  const mean =
    m.mean.kind === 'channel'
      ? { kind: 'channel', values: m.mean.values }
      : { kind: 'image', shape: m.mean.shape, encoding: 'float32-le-base64', data: Buffer.from(m.mean.data.buffer, m.mean.data.byteOffset, m.mean.data.byteLength).toString('base64') };
  return {
    'alexnet.format_version': String(m.formatVersion),
    'alexnet.form': m.form,
    'alexnet.preset': m.preset,
    'alexnet.labels': JSON.stringify(m.labels),
    ...(m.classIds ? { 'alexnet.class_ids': JSON.stringify(m.classIds) } : {}),
    'alexnet.input_size': String(m.inputSize),
    'alexnet.base_size': String(m.baseSize),
    'alexnet.fc7_size': String(m.embeddingDimension),
    'alexnet.mean': JSON.stringify(mean),
    'alexnet.checkpoint_sha256': m.checkpointSha256,
  };
}

export function parseMetadata(props: Record<string, string>, source: string): ModelMetadata {
  const bad = (why: string) => new ModelFileError(`${source}: metadata ${why}`);
  const get = (key: string): string => {
    const v = props[`alexnet.${key}`];
    if (v === undefined) throw new ModelFileError(`${source} is not an AlexNet export: metadata 'alexnet.${key}' is missing`);
    return v;
  };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(get(key));
    } catch (e) {
      if (e instanceof ModelFileError) throw e;
      throw bad(`'alexnet.${key}' is not valid JSON`);
    }
  };
  const positive = (key: string): number => {
    const n = Number(get(key));
    if (!Number.isInteger(n) || n < 1) throw bad(`'alexnet.${key}' must be a positive integer, got '${get(key)}'`);
    return n;
  };
  const formatVersion = Number(get('format_version'));
  if (formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelFileError(`${source} has model format version ${get('format_version')}; this program reads version ${MODEL_FORMAT_VERSION}`);
  }
  const form = get('form');
  if (form !== 'single-crop' && form !== 'ten-crop') throw bad(`'alexnet.form' is '${form}', expected single-crop or ten-crop`);
  const labels = json('labels');
  if (!Array.isArray(labels) || labels.length < 2 || !labels.every((l) => typeof l === 'string')) throw bad("'alexnet.labels' must be a JSON array of at least 2 strings");
  const classIds = props['alexnet.class_ids'] === undefined ? undefined : json('class_ids');
  if (classIds !== undefined && (!Array.isArray(classIds) || classIds.length !== labels.length || !classIds.every((c) => typeof c === 'string'))) {
    throw bad(`'alexnet.class_ids' must be a JSON array of ${labels.length} strings, one per label`);
  }
  const rawMean = json('mean') as { kind?: unknown; values?: unknown; shape?: unknown; encoding?: unknown; data?: unknown } | null;
  let mean: ModelMean;
  if (rawMean?.kind === 'image') {
    const shape = rawMean.shape;
    if (!Array.isArray(shape) || shape.length !== 3 || shape[2] !== 3 || rawMean.encoding !== 'float32-le-base64' || typeof rawMean.data !== 'string') {
      throw bad("'alexnet.mean' of kind image needs shape [B, B, 3], encoding float32-le-base64 and data");
    }
    const bytes = Buffer.from(rawMean.data, 'base64');
    const data = new Float32Array(bytes.byteLength / 4 | 0);
    if (data.length !== shape[0] * shape[1] * 3 || bytes.byteLength % 4 !== 0) throw bad(`'alexnet.mean' holds ${bytes.byteLength} bytes for shape [${shape}]`);
    new Uint8Array(data.buffer).set(bytes);
    mean = { kind: 'image', shape: shape as [number, number, number], data };
  } else if (rawMean?.kind === 'channel' && Array.isArray(rawMean.values) && rawMean.values.length === 3 && rawMean.values.every((v) => typeof v === 'number')) {
    mean = { kind: 'channel', values: rawMean.values as [number, number, number] };
  } else {
    throw bad("'alexnet.mean' must be {kind:'channel', values:[r,g,b]} or {kind:'image', ...}");
  }
  return {
    formatVersion,
    form,
    preset: get('preset'),
    labels: labels as string[],
    ...(classIds ? { classIds: classIds as string[] } : {}),
    inputSize: positive('input_size'),
    baseSize: positive('base_size'),
    embeddingDimension: positive('fc7_size'),
    mean,
    checkpointSha256: get('checkpoint_sha256'),
  };
}

/** Read the metadata of an exported .onnx file. */
export async function readModelMetadata(file: string): Promise<ModelMetadata> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new ModelFileError(`cannot read model ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFileError(`${file} is not a valid ONNX model: ${(e as Error).message}`);
  }
  const props: Record<string, string> = {};
  for (const p of model.metadataProps) props[p.key ?? ''] = p.value ?? '';
  return parseMetadata(props, file);
}
