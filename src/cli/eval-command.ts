/**
 * `alexnet eval MODEL --data DIR [--center] [--split train|val|test] [--report DIR2]`: top-1/top-5 error of a
 * checkpoint (tfjs, src/train) or an exported ONNX model (onnxruntime, src/export) on labelled
 * images, ten-crop by default. This file only chooses and prints.
 */
import type { SplitName } from '../train/data-cache.js';
import { progressBar } from './progress.js';

export async function evalCommand(model: string, opts: { data: string; center?: boolean; split?: SplitName; backend: string; report?: string; cache?: string }): Promise<void> {
  const center = opts.center ?? false;
  const bar = progressBar(`evaluating (${center ? 'center crop' : 'ten crops'})`);
  const choices = { split: opts.split, cacheDir: opts.cache, onProgress: (done: number, total: number) => bar.update(done, total) };
  const r = await (model.endsWith('.onnx')
    ? (await import('../export/eval-onnx.js')).evalOnnx(model, opts.data, center, choices)
    : (await import('../train/eval-checkpoint.js')).evalCheckpoint(model, opts.data, center, opts.backend, choices)
  ).finally(() => bar.stop());
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  console.log(`${r.count} images, ${r.mode === 'ten' ? 'ten crops' : 'center crop'}, ${r.runtime}: top-1 error ${pct(r.top1)} (accuracy ${pct(1 - r.top1)}), ${r.classes.length > 5 ? `top-5 error ${pct(r.top5)}` : 'top-5 error not shown (5 classes or fewer: always 0)'}`);
  if (opts.report) {
    const { evalReport, writeEvalReport } = await import('../train/eval-report.js');
    const files = await writeEvalReport(opts.report, evalReport(r, model));
    console.log(`wrote ${files.join(', ')}`);
  }
}
