/** The curves picture: its epoch axis stays readable however long the run. */
import test from 'ava';
import { curvesSvg } from '../../src/train/curves.js';
import type { EpochMetrics } from '../../src/train/epoch-metrics.js';

const history = (n: number): EpochMetrics[] =>
  Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    learningRate: 0.01,
    trainLoss: 1 / (i + 1),
    val: { center: { top1: 0.5 / (i + 1), top5: 0, count: 100 } },
    seconds: 1,
    imagesPerSecond: 1,
    dataWait: 0,
  }));

/** The numbers written under the x axis (the epoch labels: text-anchor middle, below the plot). */
function epochLabels(svg: string): number[] {
  return [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" text-anchor="middle">(\d+)<\/text>/g)].filter((m) => Number(m[1]) === 40 + 310 + 18).map((m) => Number(m[2]));
}

test('a short run labels every epoch; a long one at most about 20: the first, then every 5th (or 10th, ...)', (t) => {
  t.deepEqual(epochLabels(curvesSvg(history(8), 'short')), [1, 2, 3, 4, 5, 6, 7, 8]);
  const long = epochLabels(curvesSvg(history(50), 'long'));
  t.deepEqual(long, [1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
  const longer = epochLabels(curvesSvg(history(90), 'paper'));
  t.true(longer.length <= 21, `${longer.length} labels`);
  t.deepEqual(longer.slice(0, 3), [1, 5, 10]);
  t.is(longer.at(-1), 90);
  t.deepEqual(epochLabels(curvesSvg(history(53), 'odd')).slice(-2), [45, 50], 'the steps stay round; 53 itself is not labelled');
  // Every epoch still has its point on each line.
  t.is((curvesSvg(history(50), 'long').match(/<polyline[^>]*points="([^"]*)"/)?.[1] ?? '').trim().split(/\s+/).length, 50);
});
