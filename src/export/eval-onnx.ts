/**
 * `alexnet eval MODEL.onnx`: top-1 / top-5 error of an exported model (onnxruntime) on labelled
 * images: the ten-crop file on raw images, or the single-crop file on center crops.
 */
import * as ort from 'onnxruntime-node';
import { centerCropsNchw } from '../image/crops.js';
import { openModel, type ModelFiles } from '../model/model-files.js';
import { EvalTally, type EvalResult } from '../train/count-errors.js';
import { RecordReader } from '../train/data-cache.js';
import { loadLabelledImages, mapLabels, type EvalChoices, type LabelledImages } from '../train/labelled-images.js';

export async function evalOnnx(file: string, dataDir: string, center: boolean, choices: EvalChoices = {}): Promise<EvalResult> {
  const model = await openModel(file);
  const data = await loadLabelledImages(dataDir, model.metadata.baseSize, choices.split, choices.cacheDir);
  try {
    return await evalOn(model, data, center, choices.onProgress);
  } finally {
    await data.dispose();
  }
}

async function evalOn(model: ModelFiles, data: LabelledImages, center: boolean, onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
  const meta = model.metadata;
  const tally = new EvalTally(mapLabels(data, meta), meta.labels.length);
  const session = await ort.InferenceSession.create(center ? model.singleCropPath : model.tenCropPath);
  const { baseSize: b, inputSize: s } = meta;
  const px = b * b * 3;
  const mean = meta.mean.kind === 'channel' ? { kind: 'channel' as const, values: meta.mean.values } : { kind: 'image' as const, data: meta.mean.data };
  const batch = center ? 64 : 16;
  const reader = new RecordReader(data.split, b);
  try {
    for (let start = 0; start < data.split.count; start += batch) {
      const n = Math.min(batch, data.split.count - start);
      const images = new Uint8Array(n * px);
      for (let i = 0; i < n; i++) images.set(await reader.read(start + i), i * px);
      const feeds: Record<string, ort.Tensor> = center
        ? { input: new ort.Tensor('float32', centerCropsNchw(images, n, b, s, mean), [n, 3, s, s]) }
        : { images: new ort.Tensor('uint8', images, [n, b, b, 3]) };
      const out = await session.run(feeds);
      tally.add(out.probabilities!.data as Float32Array, start, n);
      onProgress?.(start + n, data.split.count);
    }
  } finally {
    reader.close();
    await session.release();
  }
  return tally.result(center ? 'center' : 'ten', 'onnxruntime cpu', meta.labels, data.description, meta.classIds);
}
