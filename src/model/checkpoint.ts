/**
 * Checkpoints: a directory holding `checkpoint.json` (self-describing: format, version, the
 * full network spec, labels, mean, training state) and one `weights-<sha>.bin` of float32
 * tensors (little-endian, concatenated in the order the JSON lists them).
 *
 * Writes are atomic: the weights go to a new content-named file first, then `checkpoint.json`
 * is replaced by rename, which is the commit point. A crash at any moment leaves the previous
 * checkpoint.json and the weights file it names intact.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isPresetName, type NetworkSpec, type PresetName } from '../config.js';
import { CheckpointError } from '../errors.js';
import { writeAtomic } from '../util/atomic-file.js';
import { parameterShapes, sizeOf } from './spec.js';
import type { NamedTensor } from './tensor.js';

export const CHECKPOINT_FORMAT = 'alexnet-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_FILE = 'checkpoint.json';

/** The mean subtracted from every input pixel (§2): per channel, or an image of baseSize^2 x 3. */
export type MeanSpec = { kind: 'channel'; values: [number, number, number] } | { kind: 'image'; tensor: 'mean' };

export interface CheckpointMeta {
  preset: PresetName;
  network: NetworkSpec;
  classes: number;
  labels: string[];
  /** The class folders the model was trained on, where they differ from `labels` (alexnet train --labels); absent: the labels are the folders. */
  classIds?: string[];
  mean: MeanSpec;
  /** Trainer state (epoch, learning rate, RNG state, config, history); opaque to this module. */
  training?: Record<string, unknown>;
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

interface CheckpointFile extends CheckpointMeta {
  format: string;
  version: number;
  createdAt: string;
  weightsFile: string;
  sha256: string;
  tensors: TensorEntry[];
}

export interface Checkpoint extends CheckpointMeta {
  dir: string;
  /** SHA-256 of the weights file: identifies these exact weights. */
  sha256: string;
  tensors: Map<string, NamedTensor>;
}

export async function writeCheckpoint(dir: string, meta: CheckpointMeta, tensors: readonly NamedTensor[]): Promise<string> {
  validateMeta(meta, tensors);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new CheckpointError(`cannot create checkpoint directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const entries: TensorEntry[] = [];
  let bytes = 0;
  for (const t of tensors) {
    entries.push({ name: t.name, shape: t.shape, offset: bytes });
    bytes += t.data.byteLength;
  }
  const blob = Buffer.alloc(bytes);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(blob, entries[i]!.offset);
  }
  const sha256 = createHash('sha256').update(blob).digest('hex');
  const weightsFile = `weights-${sha256.slice(0, 16)}.bin`;
  const file: CheckpointFile = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    createdAt: new Date().toISOString(),
    ...meta,
    weightsFile,
    sha256,
    tensors: entries,
  };
  try {
    await writeAtomic(path.join(dir, weightsFile), blob);
    await writeAtomic(path.join(dir, CHECKPOINT_FILE), JSON.stringify(file, null, 1));
  } catch (e) {
    throw new CheckpointError(`cannot write checkpoint in ${dir}: ${(e as Error).message}`, { cause: e });
  }
  // Weights no longer named by checkpoint.json are garbage now that the rename has committed.
  for (const name of await fs.readdir(dir)) {
    if (name !== weightsFile && /^weights-[0-9a-f]{16}\.bin$/.test(name)) await fs.rm(path.join(dir, name), { force: true });
  }
  return path.join(dir, CHECKPOINT_FILE);
}

/** Read and check a checkpoint's JSON only (no weights): what a run was, cheaply. */
export async function readCheckpointMeta(location: string): Promise<CheckpointMeta> {
  return (await readCheckpointFile(location)).file;
}

/** Why a checkpoint's JSON cannot be read, in the user's terms: an exported model or a file given for the folder is named as such. */
async function unreadableCheckpoint(location: string, jsonPath: string, e: NodeJS.ErrnoException): Promise<string> {
  const create = "(create one with 'alexnet init' or 'alexnet train')";
  if (e.code === 'ENOTDIR') {
    const what = location.endsWith('.onnx') ? 'an exported model, not a checkpoint' : 'a file, not a checkpoint';
    const beside = path.join(path.dirname(location), CHECKPOINT_FILE);
    const here = await fs.stat(beside).then(() => ` (here: ${path.dirname(location)})`, () => ` ${create}`);
    return `${location} is ${what}: give the checkpoint's directory, the one holding checkpoint.json${here}`;
  }
  if (e.code !== 'ENOENT') return `cannot read checkpoint ${jsonPath}: ${e.message} ${create}`;
  const exported = await fs.readdir(location).then((names) => names.filter((n) => n.endsWith('.onnx')), () => []);
  if (exported.length > 0) return `${location} holds an exported model (${exported.sort().join(', ')}), not a checkpoint: give the checkpoint's directory, the one holding checkpoint.json ${create}`;
  return `cannot read checkpoint ${jsonPath}: no such file ${create}`;
}

async function readCheckpointFile(location: string): Promise<{ file: CheckpointFile; jsonPath: string }> {
  const jsonPath = location.endsWith('.json') ? location : path.join(location, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (e) {
    throw new CheckpointError(await unreadableCheckpoint(location, jsonPath, e as NodeJS.ErrnoException));
  }
  let file: CheckpointFile;
  try {
    file = JSON.parse(text) as CheckpointFile;
  } catch {
    throw new CheckpointError(`checkpoint ${jsonPath} is corrupt: not valid JSON`);
  }
  if (file?.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${jsonPath} is not an AlexNet checkpoint`);
  if (file.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${jsonPath} has checkpoint format version ${file.version}; this program reads version ${CHECKPOINT_VERSION}`);
  }
  if (typeof file.preset !== 'string' || !isPresetName(file.preset)) {
    throw new CheckpointError(`${jsonPath} names an unknown preset '${String(file.preset)}'`);
  }
  return { file, jsonPath };
}

/** Read and verify a checkpoint; `location` is its directory or its checkpoint.json. */
export async function readCheckpoint(location: string): Promise<Checkpoint> {
  const { file, jsonPath } = await readCheckpointFile(location);
  const dir = path.dirname(jsonPath);
  const weightsPath = path.join(dir, path.basename(String(file.weightsFile)));
  let blob: Buffer;
  try {
    blob = await fs.readFile(weightsPath);
  } catch (e) {
    throw new CheckpointError(`checkpoint weights ${weightsPath} cannot be read: ${(e as Error).message}`);
  }
  const sha256 = createHash('sha256').update(blob).digest('hex');
  if (sha256 !== file.sha256) {
    throw new CheckpointError(`checkpoint weights ${weightsPath} are corrupt: SHA-256 ${sha256.slice(0, 16)}... does not match ${String(file.sha256).slice(0, 16)}...`);
  }
  // Copy into an aligned buffer so Float32Array views are valid whatever Buffer's pool offset.
  const aligned = new ArrayBuffer(blob.byteLength);
  new Uint8Array(aligned).set(blob);
  const tensors = new Map<string, NamedTensor>();
  for (const entry of file.tensors) {
    const length = sizeOf(entry.shape);
    if (entry.offset % 4 !== 0 || entry.offset + length * 4 > blob.byteLength) {
      throw new CheckpointError(`checkpoint ${jsonPath}: tensor ${entry.name} lies outside the weights file`);
    }
    tensors.set(entry.name, { name: entry.name, shape: entry.shape, data: new Float32Array(aligned, entry.offset, length) });
  }
  const meta: CheckpointMeta = {
    preset: file.preset,
    network: file.network,
    classes: file.classes,
    labels: file.labels,
    ...(file.classIds ? { classIds: file.classIds } : {}),
    mean: file.mean,
    ...(file.training ? { training: file.training } : {}),
  };
  try {
    validateMeta(meta, [...tensors.values()]);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${jsonPath} is inconsistent: ${(e as Error).message}`);
  }
  return { ...meta, dir, sha256, tensors };
}

function validateMeta(meta: CheckpointMeta, tensors: readonly NamedTensor[]): void {
  if (meta.labels.length !== meta.classes) {
    throw new CheckpointError(`${meta.labels.length} labels for ${meta.classes} classes`);
  }
  if (meta.classIds && meta.classIds.length !== meta.classes) {
    throw new CheckpointError(`${meta.classIds.length} class ids for ${meta.classes} classes`);
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const p of parameterShapes(meta.network, meta.classes)) {
    const t = byName.get(p.name);
    if (!t) throw new CheckpointError(`tensor ${p.name} is missing`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new CheckpointError(`tensor ${p.name} has shape [${t.shape}], the network needs [${p.shape}]`);
    }
  }
  if (meta.mean.kind === 'image') {
    const b = meta.network.baseSize;
    const m = byName.get('mean');
    if (!m || m.shape.join(',') !== `${b},${b},3`) throw new CheckpointError(`the mean image must be a [${b}, ${b}, 3] tensor named 'mean'`);
  } else if (meta.mean.values.length !== 3) {
    throw new CheckpointError('a per-channel mean needs 3 values');
  }
}
