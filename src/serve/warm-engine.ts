/**
 * One version's engine, started and warm: its workers load both models, then one batch in each
 * crop mode runs through every worker, so the first real call pays no start-up cost. Every
 * version, the first and each reload's, starts this way before it serves.
 */
import type { ModelFiles } from '../model/model-files.js';
import type { EngineOptions } from './engine-options.js';
import { InferenceEngine } from './engine.js';

export type EngineSettings = Omit<EngineOptions, 'model'>;

export async function startWarmEngine(model: ModelFiles, settings: EngineSettings): Promise<InferenceEngine> {
  const started = await InferenceEngine.start({ ...settings, model });
  try {
    await started.warmUp(new Uint8Array(model.metadata.baseSize * model.metadata.baseSize * 3).fill(128));
  } catch (e) {
    await started.close();
    throw e;
  }
  return started;
}
