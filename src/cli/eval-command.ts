/**
 * `alexnet eval MODEL --data DIR [--center] [--split train|val|test]`: top-1/top-5 error of a checkpoint (tfjs) or an
 * exported ONNX model (onnxruntime) on labelled images, ten-crop by default.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { decodeToSquare } from '../image/decode.js';
import { cacheExists, readDataCache, type Split, type SplitName } from '../train/data-cache.js';

export interface LabelledImages {
  /** Class names of `labels`, in the data's order. */
  classes: string[];
  split: Split;
  base: number;
  description: string;
}

/**
 * Images of a prepared cache (the split asked for; by default its test split, else val) or a
 * folder: DIR/<split>/<class>/* when a split is asked for, else DIR/test/, DIR/val/ or DIR itself.
 */
export async function loadLabelledImages(dir: string, base: number, splitName?: SplitName): Promise<LabelledImages> {
  if (await cacheExists(dir)) {
    const cache = await readDataCache(dir);
    if (cache.meta.base !== base) throw new ConfigError(`${dir} was prepared at ${cache.meta.base}x${cache.meta.base}; the model needs ${base}x${base}`);
    const name = splitName ?? (cache.splits.test ? 'test' : 'val');
    const split = cache.splits[name];
    if (!split) throw new ConfigError(`${dir} has no ${name} split`);
    return { classes: cache.meta.classes, split, base, description: `${dir} (${name} split, ${split.count} images)` };
  }
  const isDir = (p: string) => fs.stat(p).then((st) => st.isDirectory(), () => false);
  let root = dir;
  if (splitName) {
    root = path.join(dir, splitName);
    if (!(await isDir(root))) throw new ConfigError(`${dir} has no ${splitName}/ folder (asked for by --split ${splitName})`);
  } else {
    for (const sub of ['test', 'val']) {
      if (await isDir(path.join(dir, sub))) {
        root = path.join(dir, sub);
        break;
      }
    }
  }
  const entries = await fs.readdir(root, { withFileTypes: true }).catch((e: Error) => {
    throw new ConfigError(`cannot read ${root}: ${e.message}`);
  });
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (classes.length === 0) throw new ConfigError(`${root} has no class folders`);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (const [label, cls] of classes.entries()) {
    for (const f of (await fs.readdir(path.join(root, cls))).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort()) {
      try {
        images.push((await decodeToSquare(await fs.readFile(path.join(root, cls, f)), { size: base })).data);
        labels.push(label);
      } catch (e) {
        console.error(`warning: skipping ${path.join(root, cls, f)}: ${(e as Error).message}`);
      }
    }
  }
  const px = base * base * 3;
  const all = new Uint8Array(images.length * px);
  images.forEach((im, i) => all.set(im, i * px));
  return { classes, split: { count: images.length, images: all, labels: Uint16Array.from(labels) }, base, description: `${root} (${images.length} images)` };
}

/** Map the data's class indices onto the model's label indices, by name. */
export function mapLabels(data: LabelledImages, modelLabels: string[]): Int32Array {
  const index = new Map(modelLabels.map((l, i) => [l, i]));
  const missing = data.classes.filter((c) => !index.has(c));
  if (missing.length > 0) throw new ConfigError(`the data has classes the model does not know: ${missing.slice(0, 5).join(', ')}`);
  return Int32Array.from(data.split.labels, (l) => index.get(data.classes[l]!)!);
}

export interface EvalResult {
  /** The top-1 class (the model's label index) of each image, in the data's order. */
  predictions: Int32Array;
  top1: number;
  top5: number;
  count: number;
  mode: 'center' | 'ten';
  runtime: string;
}

/** A checkpoint's mean as a base x base x 3 image (a per-channel mean is repeated). */
export function meanImageOf(mean: { kind: 'channel'; values: number[] } | { kind: 'image' }, tensor: Float32Array | undefined, base: number): Float32Array {
  if (mean.kind === 'image') return tensor!;
  const out = new Float32Array(base * base * 3);
  for (let i = 0; i < out.length; i++) out[i] = mean.values[i % 3]!;
  return out;
}

export async function evalCheckpoint(location: string, dataDir: string, center: boolean, backend: string, split?: SplitName): Promise<EvalResult> {
  const tf = await import('@tensorflow/tfjs-core');
  const { readCheckpoint } = await import('../model/checkpoint.js');
  const { useBackend } = await import('../train/backends.js');
  const { toTfjs } = await import('../train/network.js');
  const { BatchPipeline } = await import('../train/batch-pipeline.js');
  const { countErrors, averagedSoftmax } = await import('../train/evaluate.js');
  const ck = await readCheckpoint(location);
  const spec = ck.network;
  const data = await loadLabelledImages(dataDir, spec.baseSize, split);
  const labels = mapLabels(data, ck.labels);
  const used = await useBackend(backend as Parameters<typeof useBackend>[0]);
  const params = toTfjs(ck.tensors.values(), false);
  const mean = meanImageOf(ck.mean as never, ck.tensors.get('mean')?.data, spec.baseSize);
  const pipe = new BatchPipeline({ split: data.split, mean, base: spec.baseSize, crop: spec.inputSize, pca: { eigenvalues: [0, 0, 0], eigenvectors: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
  const mode = center ? 'center' : 'ten';
  const per = center ? 1 : 10;
  const order = Int32Array.from({ length: data.split.count }, (_, i) => i);
  const predictions = new Int32Array(data.split.count);
  let top1 = 0;
  let top5 = 0;
  try {
    for await (const b of pipe.batches(order, 50, mode, 0)) {
      const x = tf.tensor4d(b.x, [b.size * per, spec.inputSize, spec.inputSize, 3]);
      const probs = await averagedSoftmax(spec, params, x, per);
      x.dispose();
      const e = countErrors(probs, ck.classes, labels.subarray(b.index * 50, b.index * 50 + b.size));
      predictions.set(argmaxRows(probs, ck.classes), b.index * 50);
      top1 += e.top1;
      top5 += e.top5;
    }
  } finally {
    await pipe.close();
  }
  return { predictions, top1: top1 / data.split.count, top5: top5 / data.split.count, count: data.split.count, mode, runtime: `tfjs ${used.name}` };
}

/** Evaluate an exported model with onnxruntime: the ten-crop file on raw images, or the single-crop file on center crops. */
export async function evalOnnx(file: string, dataDir: string, center: boolean, split?: SplitName): Promise<EvalResult> {
  const ort = await import('onnxruntime-node');
  const { readModelMetadata } = await import('../model/onnx-metadata.js');
  const { singleCropPath, tenCropPath } = await import('../model/model-files.js');
  const { countErrors } = await import('../train/evaluate.js');
  const { centerCropsNchw } = await import('../image/crops.js');
  const single = singleCropPath(file);
  const modelFile = center ? single : tenCropPath(single);
  const meta = await readModelMetadata(modelFile);
  const data = await loadLabelledImages(dataDir, meta.baseSize, split);
  const labels = mapLabels(data, meta.labels);
  const session = await ort.InferenceSession.create(modelFile);
  const { baseSize: b, inputSize: s } = meta;
  const px = b * b * 3;
  const mean = meta.mean.kind === 'channel' ? { kind: 'channel' as const, values: meta.mean.values } : { kind: 'image' as const, data: meta.mean.data };
  const predictions = new Int32Array(data.split.count);
  let top1 = 0;
  let top5 = 0;
  const batch = center ? 64 : 16;
  try {
    for (let start = 0; start < data.split.count; start += batch) {
      const n = Math.min(batch, data.split.count - start);
      const images = data.split.images.subarray(start * px, (start + n) * px);
      let feeds: Record<string, InstanceType<typeof ort.Tensor>>;
      if (center) {
        feeds = { input: new ort.Tensor('float32', centerCropsNchw(images, n, b, s, mean), [n, 3, s, s]) };
      } else {
        feeds = { images: new ort.Tensor('uint8', Uint8Array.from(images), [n, b, b, 3]) };
      }
      const out = await session.run(feeds);
      const probs = out.probabilities!.data as Float32Array;
      const e = countErrors(probs, meta.labels.length, labels.subarray(start, start + n));
      predictions.set(argmaxRows(probs, meta.labels.length), start);
      top1 += e.top1;
      top5 += e.top5;
    }
  } finally {
    await session.release();
  }
  return { predictions, top1: top1 / data.split.count, top5: top5 / data.split.count, count: data.split.count, mode: center ? 'center' : 'ten', runtime: 'onnxruntime cpu' };
}

function argmaxRows(probs: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(probs.length / classes);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}
