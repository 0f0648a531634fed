/**
 * A lone ten-crop image split across free workers: each runs some of its ten crops through the
 * single-crop model, and the ten answers are averaged here, as the ten-crop graph's ReduceMean.
 */
import type { InferenceReply, InferenceResult } from './inference-worker.js';

/** Number of crops of the paper's test-time procedure (§5). */
export const TEN = 10;

type Done = (reply: InferenceReply & { ok: true }) => void;

/**
 * Part p of `parts` runs crops [10p/P, 10(p+1)/P) of the order of `tenCropSpecs` (`run` sends it);
 * the answer is the mean of the ten crops' softmax and fc7 (summed in float64). A part that fails
 * fails the image, once. `sizes`: classes and embedding dimension.
 */
export function splitTenCrop(parts: number, [c, f]: [number, number], image: { resolve(r: InferenceResult): void; reject(e: Error): void }, run: (crops: number[], part: number, done: Done, fail: (e: Error) => void) => void): void {
  const probabilities = new Float64Array(c);
  const embedding = new Float64Array(f);
  let left = parts;
  let settled = false;
  const fail = (e: Error) => {
    if (settled) return;
    settled = true;
    image.reject(e);
  };
  const done: Done = (reply) => {
    if (settled) return;
    for (let k = 0; k * c < reply.probabilities.length; k++) {
      for (let j = 0; j < c; j++) probabilities[j] += reply.probabilities[k * c + j]!;
      for (let j = 0; j < f; j++) embedding[j] += reply.embeddings[k * f + j]!;
    }
    if (--left > 0) return;
    settled = true;
    image.resolve({ probabilities: Float32Array.from(probabilities, (v) => v / TEN), embedding: Float32Array.from(embedding, (v) => v / TEN) });
  };
  for (let p = 0; p < parts; p++) {
    const from = Math.floor((p * TEN) / parts);
    const to = Math.floor(((p + 1) * TEN) / parts);
    run(Array.from({ length: to - from }, (_, i) => from + i), p, done, fail);
  }
}
