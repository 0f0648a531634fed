/**
 * The metadata an exported model carries about itself (ModelProto.metadata_props), written by
 * the exporter and read by the server and `alexnet eval`. No tensor library here.
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
  inputSize: number;
  baseSize: number;
  fc7Size: number;
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
    'alexnet.input_size': String(m.inputSize),
    'alexnet.base_size': String(m.baseSize),
    'alexnet.fc7_size': String(m.fc7Size),
    'alexnet.mean': JSON.stringify(mean),
    'alexnet.checkpoint_sha256': m.checkpointSha256,
  };
}

export function parseMetadata(props: Record<string, string>, source: string): ModelMetadata {
  const get = (key: string): string => {
    const v = props[`alexnet.${key}`];
    if (v === undefined) throw new ModelFileError(`${source} is not an AlexNet export: metadata 'alexnet.${key}' is missing`);
    return v;
  };
  const formatVersion = Number(get('format_version'));
  if (formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelFileError(`${source} has model format version ${formatVersion}; this program reads version ${MODEL_FORMAT_VERSION}`);
  }
  const rawMean = JSON.parse(get('mean')) as { kind: string; values?: number[]; shape?: number[]; data?: string };
  let mean: ModelMean;
  if (rawMean.kind === 'image') {
    const bytes = Buffer.from(rawMean.data ?? '', 'base64');
    const data = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(data.buffer).set(bytes);
    mean = { kind: 'image', shape: rawMean.shape as [number, number, number], data };
  } else {
    mean = { kind: 'channel', values: rawMean.values as [number, number, number] };
  }
  return {
    formatVersion,
    form: get('form') as ModelForm,
    preset: get('preset'),
    labels: JSON.parse(get('labels')) as string[],
    inputSize: Number(get('input_size')),
    baseSize: Number(get('base_size')),
    fc7Size: Number(get('fc7_size')),
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
