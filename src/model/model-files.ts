/**
 * The exported model as one artifact: the single-crop `<name>.onnx` and its ten-crop sibling
 * `<name>.tencrop.onnx`, written from one checkpoint, and the metadata they carry. Whoever opens a
 * model (the server, `alexnet eval`, the benches) asks this module; no one else builds the pair's
 * paths or checks that the two belong together.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../errors.js';
import { readModelMetadata, type ModelMetadata } from './onnx-metadata.js';

/** The shipped default model (models/ at the package root; this file runs from dist/src/model/). */
export const DEFAULT_MODEL = fileURLToPath(new URL('../../../models/fashion-mnist-mini/model.onnx', import.meta.url));

const TEN_CROP_SUFFIX = '.tencrop.onnx';

/** `a/model.onnx` -> `a/model.tencrop.onnx` (a name without .onnx gets the suffix appended). */
export function tenCropPath(singleCropPath: string): string {
  const base = singleCropPath.endsWith('.onnx') ? singleCropPath.slice(0, -'.onnx'.length) : singleCropPath;
  return `${base}${TEN_CROP_SUFFIX}`;
}

/** Either file of a pair -> the single-crop file. */
export function singleCropPath(eitherPath: string): string {
  return eitherPath.endsWith(TEN_CROP_SUFFIX) ? `${eitherPath.slice(0, -TEN_CROP_SUFFIX.length)}.onnx` : eitherPath;
}

/** `models/fashion-mnist-mini/model.onnx` is called fashion-mnist-mini; `x/cats.onnx` is cats. */
export function modelName(singleCropFile: string): string {
  const base = path.basename(singleCropFile, '.onnx');
  return base === 'model' ? path.basename(path.dirname(path.resolve(singleCropFile))) : base;
}

export interface ModelFiles {
  name: string;
  /** What answers name: the repository's version number, or else the fingerprint. */
  version: string;
  /** The first 12 hex digits of the SHA-256 of the checkpoint both files were exported from. */
  fingerprint: string;
  singleCropPath: string;
  tenCropPath: string;
  /** The single-crop file's metadata (the ten-crop file's differs only in `form`). */
  metadata: ModelMetadata;
}

/** A folder or a file that is no .onnx is refused saying what to give (a checkpoint: export it first). */
async function refuseNonExport(file: string): Promise<void> {
  const isDir = await fs.stat(file).then((s) => s.isDirectory(), () => false);
  const ckDir = isDir ? file : path.basename(file) === 'checkpoint.json' ? path.dirname(file) : undefined;
  if (ckDir !== undefined && (await fs.stat(path.join(ckDir, 'checkpoint.json')).then(() => true, () => false))) {
    throw new ModelFileError(`${file} is a training checkpoint, not an exported model: run 'alexnet export ${ckDir} -o ${ckDir.replace(/\/+$/, '')}.onnx' and give that .onnx file`);
  }
  if (isDir) {
    const inside = path.join(file, 'model.onnx');
    throw new ModelFileError(`${file} is a folder: give the .onnx file${(await fs.stat(inside).then(() => true, () => false)) ? ` (${inside})` : ''}`);
  }
  if (!file.endsWith('.onnx')) throw new ModelFileError(`${file} is not an .onnx file: give the model 'alexnet export' wrote`);
}

/**
 * Open the pair named by either of its files: both must be there, be AlexNet exports, one of
 * each form, and come from the same checkpoint (ModelFileError otherwise). `as` names a
 * repository's version (model-repository.ts); a plain file is named by its path and fingerprint.
 */
export async function openModel(file: string, as: { name: string; version: string } | undefined = undefined): Promise<ModelFiles> {
  await refuseNonExport(file);
  const single = singleCropPath(file);
  const ten = tenCropPath(single);
  const [meta, tenMeta] = await Promise.all([readModelMetadata(single), readModelMetadata(ten)]);
  if (meta.form !== 'single-crop' || tenMeta.form !== 'ten-crop' || meta.checkpointSha256 !== tenMeta.checkpointSha256) {
    throw new ModelFileError(`${single} and ${ten} are not the single-crop and ten-crop exports of one checkpoint`);
  }
  const fingerprint = meta.checkpointSha256.slice(0, 12);
  return { name: as?.name ?? modelName(single), version: as?.version ?? fingerprint, fingerprint, singleCropPath: single, tenCropPath: ten, metadata: meta };
}
