/**
 * The check that a training step fits a WebGPU adapter's buffer limit (src/train/webgpu-limits.ts),
 * against sizes computed here from the paper's own numbers (the CLI's refusal:
 * test/cli/train-webgpu-limit.test.ts).
 */
import test from 'ava';
import { PRESETS } from '../../src/config.js';
import { bufferLimitProblem, largestStepTensors } from '../../src/train/webgpu-limits.js';

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
