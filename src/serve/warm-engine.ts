/**
 * One version's engine, started and warm: its workers load both models, then one batch in each
 * crop mode runs through every worker, so the first real call pays no start-up cost. Every
 * version, the first and each reload's, starts this way before it serves. A model that
 * onnxruntime will not load or run is a ModelFileError naming its files, so `alexnet serve`
 * says so in one line, and a reload's log line says why the version was refused.
 */
import { ModelFileError } from '../errors.js';
import type { ModelFiles } from '../model/model-files.js';
import type { EngineOptions } from './engine-options.js';
import { InferenceEngine } from './engine.js';

export type EngineSettings = Omit<EngineOptions, 'model'>;

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function startWarmEngine(model: ModelFiles, settings: EngineSettings): Promise<InferenceEngine> {
  const started = await InferenceEngine.start({ ...settings, model }).catch((e: unknown) => {
    throw new ModelFileError(`onnxruntime (${settings.provider}) cannot load ${model.singleCropPath} and ${model.tenCropPath}: ${reason(e)} (damaged or not an alexnet export: export the model again with 'alexnet export')`);
  });
  try {
    await started.warmUp(new Uint8Array(model.metadata.baseSize * model.metadata.baseSize * 3).fill(128));
  } catch (e) {
    await started.close();
    throw new ModelFileError(`${model.singleCropPath} loads but a batch does not run on it (${settings.provider}): ${reason(e)}`);
  }
  return started;
}
