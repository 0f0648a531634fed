/**
 * The check that a training step fits a WebGPU adapter's buffer limit (src/train/webgpu-limits.ts),
 * against sizes computed here from the paper's own numbers, and `alexnet train --backend webgpu`
 * refusing a step that does not fit, before any data is prepared (where an adapter exists: in CI
 * lavapipe, whose limit is 128 MiB).
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRESETS } from '../../src/config.js';
import { probeTrainingBackends } from '../../src/train/backends.js';
import { bufferLimitProblem, largestStepTensors } from '../../src/train/webgpu-limits.js';
import { cli } from '../serve-fixtures.js';

// Probed before any test is declared: ava closes declarations soon after the first one.
const webgpu = (await probeTrainingBackends()).find((b) => b.name === 'webgpu')!;
const MiB128 = 128 * 2 ** 20;
const paper = PRESETS.paper.network;

test("the paper's largest step tensors, from §3.5's sizes: fc6 9216 x 4096, then conv1's 55 x 55 x 96 maps and conv2's 27 x 27 x 256", (t) => {
  const top = largestStepTensors(paper, 1000, 128).slice(0, 3);
  t.deepEqual(
    top.map((x) => [x.what, x.bytes]),
    [
      ['fc6.weight [9216, 4096]', 9216 * 4096 * 4],
      ["conv1's output [128, 55, 55, 96]", 128 * 55 * 55 * 96 * 4],
      ["conv2's output [128, 27, 27, 256]", 128 * 27 * 27 * 256 * 4],
    ],
  );
  t.true(largestStepTensors(paper, 1000, 128).some((x) => x.what === 'the input batch [128, 227, 227, 3]' && x.bytes === 128 * 227 * 227 * 3 * 4));
});

test('a step over the limit is named with each tensor over it and the fixes that apply; one under it passes', (t) => {
  const both = bufferLimitProblem(paper, 1000, 128, MiB128, 'the adapter')!;
  t.regex(both, /fc6\.weight \[9216, 4096\] \(144\.0 MiB\)/);
  t.regex(both, /conv1's output \[128, 55, 55, 96\] \(141\.8 MiB\)/);
  t.regex(both, /smaller --batch-size/);
  t.regex(both, /smaller preset/);
  // At batch 64 conv1's maps fit; fc6's weights do not shrink with the batch.
  const weights = bufferLimitProblem(paper, 1000, 64, MiB128, 'the adapter')!;
  t.notRegex(weights, /conv1/);
  t.notRegex(weights, /batch-size/);
  t.is(bufferLimitProblem(paper, 1000, 128, 2 ** 31, 'a GPU'), undefined);
  t.is(bufferLimitProblem(PRESETS.mini.network, 10, 128, MiB128, 'the adapter'), undefined);
});

const cliTitle = "alexnet train --backend webgpu --preset paper on a 128 MiB adapter exits 1 before preparing data, naming fc6's weights";
// lavapipe's limit is 128 MiB; a GPU's is larger, and there the paper step fits (nothing to refuse).
(webgpu.available && webgpu.software ? test : test.skip)(webgpu.available && webgpu.software ? cliTitle : `${cliTitle} [skipped: needs a software WebGPU adapter (lavapipe); here: ${webgpu.detail.slice(0, 120)}]`, async (t) => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'alexnet-webgpu-limit-'));
  try {
    const data = path.join(root, 'data');
    await fs.mkdir(path.join(data, 'train', 'a'), { recursive: true });
    const r = await cli('train', '--data', data, '--backend', 'webgpu', '--preset', 'paper', '--out', path.join(root, 'run'));
    t.is(r.code, 1, r.err);
    t.regex(r.err, /binds at most 128\.0 MiB per buffer/);
    t.regex(r.err, /fc6\.weight/);
    t.notRegex(r.err, /validation|Binding size/i, 'no Dawn validation error: nothing ran');
    t.false(await fs.stat(path.join(data, '.alexnet-cache-256')).then(() => true, () => false), 'no data prepared');
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
