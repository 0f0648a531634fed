/**
 * Decode and infer one image: the step every service that takes image bytes shares (AlexNet's
 * Classify and Embed, ImageSearch's Upsert and Search), so they all see the same vector.
 */
import { CancelledError, ImageTooLargeError } from '../errors.js';
import { decodeToSquare } from '../image/decode.js';
import type { CallContext } from './call-context.js';
import type { CropModeName, InferenceResult } from './engine.js';
import type { Served } from './model-host.js';
import type { ServingEnv } from './service-descriptor.js';
import { BadRequestError } from './status.js';

/**
 * One image through `served` (the version the call holds: ServingEnv.withModel). A place in the
 * engine's queue is reserved before the image is decoded, so an overloaded server refuses
 * (RESOURCE_EXHAUSTED) without spending a decode on an image it would throw away; the place is
 * given back on every path that does not queue the image.
 */
export async function inferImage(
  env: Pick<ServingEnv, 'maxPixels' | 'metrics'>,
  served: Served,
  bytes: Buffer | undefined,
  crop: CropModeName,
  context: CallContext,
  /** Told the decode's duration (ms), as the metrics are. */
  onDecoded?: (ms: number) => void,
): Promise<InferenceResult> {
  if (!bytes || bytes.length === 0) throw new BadRequestError('image is empty: send the bytes of a JPEG, PNG or WebP file');
  const slot = served.engine.reserve();
  try {
    const started = performance.now();
    const decoded = await decodeToSquare(bytes, { size: served.model.metadata.baseSize, maxPixels: env.maxPixels }).catch((e: unknown) => {
      // Preparation takes photos far larger than a server does: say what to send instead.
      throw e instanceof ImageTooLargeError ? new ImageTooLargeError(`${e.message}: send it scaled down to at most ${env.maxPixels} pixels (or serve with a larger --max-pixels)`) : e;
    }).finally(() => {
      const ms = performance.now() - started;
      env.metrics?.decoded(served.model, ms);
      onDecoded?.(ms);
    });
    if (context.signal.aborted) throw new CancelledError('the call was cancelled');
    return await served.engine.submit(decoded.data, crop, { signal: context.signal, deadline: context.deadline, slot });
  } finally {
    slot.release();
  }
}
