/**
 * KServe v2 tensors and this model: what ModelInfer reads (encoded images as a BYTES tensor
 * `images`, or decoded pixels as a UINT8 tensor `pixels`, each in either of the protocol's
 * encodings) and what it answers (`probabilities`, `fc7`, and the classification extension's
 * "<prob>:<index>:<label>" strings). Every malformed tensor is a BadRequestError saying what to send.
 */
import type { ModelMetadata } from '../model/onnx-metadata.js';
import type { InferenceResult } from './engine.js';
import type { InferParameter__Output } from './generated/inference/InferParameter.js';
import type { _inference_ModelInferRequest_InferInputTensor__Output as InputTensor, ModelInferRequest__Output } from './generated/inference/ModelInferRequest.js';
import type { _inference_ModelInferResponse_InferOutputTensor as OutputTensor } from './generated/inference/ModelInferResponse.js';
import { BadRequestError } from './status.js';

/** Most images one ModelInfer may carry (each is decoded and queued for the engine like a Classify call's). */
export const MAX_IMAGES_PER_REQUEST = 64;

export const OUTPUT_NAMES = ['probabilities', 'fc7'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

export interface TensorDescription {
  name: string;
  datatype: 'BYTES' | 'UINT8' | 'FP32';
  /** Without the batch dimension. */
  dims: number[];
}

/** The model's tensors as the protocol names them (metadata and config list these). */
export function tensorsOf(meta: Pick<ModelMetadata, 'baseSize' | 'labels' | 'embeddingDimension'>): { inputs: TensorDescription[]; outputs: TensorDescription[] } {
  return {
    inputs: [
      { name: 'images', datatype: 'BYTES', dims: [1] }, // [N,1] (or [N]): one JPEG/PNG/WebP file each
      { name: 'pixels', datatype: 'UINT8', dims: [meta.baseSize, meta.baseSize, 3] }, // [N,B,B,3] RGB, decoded as the server decodes
    ],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', dims: [meta.labels.length] }, // [N,classes] ten-crop average
      { name: 'fc7', datatype: 'FP32', dims: [meta.embeddingDimension] }, // [N,dim]
    ],
  };
}

export type ParsedInput = { kind: 'images'; images: Buffer[] } | { kind: 'pixels'; pixels: Uint8Array[] };

const WHAT_TO_SEND = (b: number) => `send one input: images (BYTES, shape [N] or [N,1], one encoded JPEG/PNG/WebP file per element) or pixels (UINT8, shape [N,${b},${b},3], RGB)`;
const shapeText = (shape: number[]) => `[${shape.join(',')}]`;

/** The request's one input, read from contents or raw_input_contents; `raw` says which encoding it used. */
export function parseInput(req: ModelInferRequest__Output, baseSize: number): { input: ParsedInput; raw: boolean } {
  const raw = req.raw_input_contents.length > 0;
  if (req.inputs.length === 0) throw new BadRequestError(`no input tensor: ${WHAT_TO_SEND(baseSize)}`);
  for (const t of req.inputs) {
    if (t.name !== 'images' && t.name !== 'pixels') throw new BadRequestError(`unknown input ${JSON.stringify(t.name)}: ${WHAT_TO_SEND(baseSize)}`);
  }
  if (req.inputs.length > 1) throw new BadRequestError(`${req.inputs.length} input tensors (${req.inputs.map((t) => t.name).join(', ')}): ${WHAT_TO_SEND(baseSize)}, not both`);
  if (raw && req.raw_input_contents.length !== req.inputs.length) {
    throw new BadRequestError(`raw_input_contents has ${req.raw_input_contents.length} entries for ${req.inputs.length} input: send one per input, in the order of inputs`);
  }
  const tensor = req.inputs[0]!;
  if (raw && tensor.contents && hasElements(tensor.contents)) throw new BadRequestError(`input ${tensor.name} has both contents and raw_input_contents: use one of them`);
  const rawBytes = raw ? req.raw_input_contents[0]! : undefined;
  const input = tensor.name === 'images' ? { kind: 'images' as const, images: readImages(tensor, rawBytes) } : { kind: 'pixels' as const, pixels: readPixels(tensor, rawBytes, baseSize) };
  return { input, raw };
}

function hasElements(c: NonNullable<InputTensor['contents']>): boolean {
  return Object.values(c).some((v) => Array.isArray(v) && v.length > 0);
}

/** N, the batch, checked against the per-request limit. */
function batchOf(name: string, shape: number[], expected: string): number {
  const n = shape[0] ?? 0;
  if (n < 1) throw new BadRequestError(`input ${name} has shape ${shapeText(shape)}: send ${expected} with N >= 1`);
  if (n > MAX_IMAGES_PER_REQUEST) throw new BadRequestError(`input ${name} has ${n} images: at most ${MAX_IMAGES_PER_REQUEST} per request, send the rest in further requests`);
  return n;
}

function readImages(t: InputTensor, raw: Buffer | undefined): Buffer[] {
  if (t.datatype !== 'BYTES') throw new BadRequestError(`input images must be BYTES (encoded image files), not ${t.datatype || 'an empty datatype'}; decoded pixels go in the UINT8 input pixels`);
  const shape = t.shape;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw new BadRequestError(`input images has shape ${shapeText(shape)}: send [N] or [N,1], one encoded image per element`);
  const n = batchOf('images', shape, '[N] or [N,1]');
  const images = raw ? splitLengthPrefixed(raw, n + 1) : (t.contents?.bytes_contents ?? []);
  if (images.length !== n) {
    const where = raw ? 'raw_input_contents (4-byte little-endian length, then the bytes, per element)' : 'contents.bytes_contents';
    throw new BadRequestError(`input images has ${images.length > n && raw ? 'more than ' + n : images.length} elements in ${where} for shape ${shapeText(shape)}: send ${n}`);
  }
  return images;
}

/**
 * A raw BYTES tensor: each element a 4-byte little-endian length followed by that many bytes;
 * read up to `most` elements (a 16 MiB tensor of empty elements is 4 million of them: each a
 * Buffer, seconds of the event loop and hundreds of MB, before its count could be refused).
 */
export function splitLengthPrefixed(raw: Buffer, most = Infinity): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < raw.length && out.length < most) {
    if (at + 4 > raw.length) throw new BadRequestError(`raw BYTES tensor: ${raw.length - at} bytes left at offset ${at}, too few for a 4-byte length prefix`);
    const len = raw.readUInt32LE(at);
    at += 4;
    if (at + len > raw.length) throw new BadRequestError(`raw BYTES tensor: element ${out.length} says ${len} bytes, ${raw.length - at} are left: each element is a 4-byte little-endian length, then that many bytes`);
    out.push(raw.subarray(at, at + len));
    at += len;
  }
  return out;
}

export function joinLengthPrefixed(elements: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(e.length);
    parts.push(len, e);
  }
  return Buffer.concat(parts);
}

function readPixels(t: InputTensor, raw: Buffer | undefined, b: number): Uint8Array[] {
  if (t.datatype !== 'UINT8') throw new BadRequestError(`input pixels must be UINT8, not ${t.datatype || 'an empty datatype'}; encoded image files go in the BYTES input images`);
  const shape = t.shape;
  if (shape.length !== 4 || shape[1] !== b || shape[2] !== b || shape[3] !== 3) throw new BadRequestError(`input pixels has shape ${shapeText(shape)}: send [N,${b},${b},3] (RGB, the image resized so its shorter side is ${b}, then center-cropped)`);
  const n = batchOf('pixels', shape, `[N,${b},${b},3]`);
  const per = b * b * 3;
  let data: Uint8Array;
  if (raw) {
    if (raw.length !== n * per) throw new BadRequestError(`input pixels has ${raw.length} bytes in raw_input_contents for shape ${shapeText(shape)}: send ${n * per} (one byte per element)`);
    data = raw;
  } else {
    const values = t.contents?.uint_contents ?? [];
    if (values.length !== n * per) throw new BadRequestError(`input pixels has ${values.length} elements in contents.uint_contents for shape ${shapeText(shape)}: send ${n * per}`);
    data = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v > 255) throw new BadRequestError(`input pixels element ${i} is ${v}: UINT8 values are 0-255`);
      data[i] = v;
    }
  }
  // Copies of their own (a Buffer's slice is a view of the message): the engine keeps each image until its batch is formed, and may transfer it to a worker.
  return Array.from({ length: n }, (_, i) => {
    const image = new Uint8Array(per);
    image.set(data.subarray(i * per, (i + 1) * per));
    return image;
  });
}

export interface RequestedOutput {
  name: OutputName;
  /** The classification extension: answer the top `classification` classes as strings. */
  classification?: number;
}

/** The outputs asked for (all of them when `outputs` is empty), each checked. */
export function parseOutputs(req: ModelInferRequest__Output, classes: number): RequestedOutput[] {
  if (req.outputs.length === 0) return OUTPUT_NAMES.map((name) => ({ name }));
  const seen = new Set<string>();
  return req.outputs.map((o) => {
    if (!(OUTPUT_NAMES as readonly string[]).includes(o.name)) throw new BadRequestError(`unknown output ${JSON.stringify(o.name)}: this model answers ${OUTPUT_NAMES.join(' and ')}`);
    if (seen.has(o.name)) throw new BadRequestError(`output ${o.name} is asked for twice`);
    seen.add(o.name);
    const k = classificationOf(o.parameters['classification'], o.name, classes);
    return k === undefined ? { name: o.name as OutputName } : { name: o.name as OutputName, classification: k };
  });
}

function classificationOf(p: InferParameter__Output | undefined, output: string, classes: number): number | undefined {
  if (!p) return undefined;
  if (output !== 'probabilities') throw new BadRequestError(`classification applies to the output probabilities, not ${output}`);
  const k = p.parameter_choice === 'int64_param' ? Number(p.int64_param) : NaN;
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new BadRequestError(`classification must be an int64 parameter from 1 to the model's ${classes} classes`);
  return k;
}

/** The classification extension's answer for one image: its top k as "<prob>:<index>:<label>", best first. */
export function classificationStrings(probabilities: Float32Array, labels: string[], k: number): string[] {
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]!);
  return order.slice(0, k).map((i) => `${probabilities[i]!}:${i}:${labels[i] ?? String(i)}`);
}

/** The requested outputs of N images, as contents, or as raw_output_contents when `raw`. */
export function encodeOutputs(results: InferenceResult[], outputs: RequestedOutput[], labels: string[], raw: boolean): { outputs: OutputTensor[]; raw_output_contents: Buffer[] } {
  const n = results.length;
  const tensors: OutputTensor[] = [];
  const rawContents: Buffer[] = [];
  for (const o of outputs) {
    if (o.classification !== undefined) {
      const strings = results.flatMap((r) => classificationStrings(r.probabilities, labels, o.classification!)).map((s) => Buffer.from(s, 'utf8'));
      tensors.push({ name: o.name, datatype: 'BYTES', shape: [n, o.classification], ...(raw ? {} : { contents: { bytes_contents: strings } }) });
      if (raw) rawContents.push(joinLengthPrefixed(strings));
      continue;
    }
    const rows = results.map((r) => (o.name === 'probabilities' ? r.probabilities : r.embedding));
    const width = rows[0]?.length ?? 0;
    tensors.push({ name: o.name, datatype: 'FP32', shape: [n, width], ...(raw ? {} : { contents: { fp32_contents: rows.flatMap((row) => Array.from(row)) } }) });
    if (raw) {
      const bytes = Buffer.alloc(n * width * 4);
      rows.forEach((row, i) => row.forEach((v, j) => bytes.writeFloatLE(v, (i * width + j) * 4)));
      rawContents.push(bytes);
    }
  }
  return { outputs: tensors, raw_output_contents: rawContents };
}
