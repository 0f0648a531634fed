/**
 * Memory does not grow with the data set: `alexnet data prepare` and `alexnet train` (a few steps)
 * on 2,100 and on 14,100 images, each a child process whose peak RSS the kernel reports. The
 * larger cache is 55 MiB bigger than the smaller one, twice the margin the test allows between the
 * two peaks: a design holding the images in memory (as every version before this one did) fails.
 * The children run with a fixed 2 MiB V8 semi-space: V8 grows its young generation with the
 * allocation rate during the first seconds of any run whatever the data (measured: a prepare's RSS
 * is flat from 2,000 to 28,000 images, 124-127 MiB, after rising there from 68), so a short run
 * would peak lower than a long one for that reason alone.
 */
import test from 'ava';
import path from 'node:path';
import { splitBytes } from '../../src/train/cache-format.js';
import { readDataCache } from '../../src/train/data-cache.js';
import { alexnet, manyImages } from '../data-fixtures.js';
import { tempDir } from '../temp-dir.js';

const MARGIN_MIB = 24;
const env = { NODE_OPTIONS: '--max-semi-space-size=2' };

test(`peak RSS of prepare and of training differ by less than ${MARGIN_MIB} MiB between 2,100 and 14,100 images`, async (t) => {
  const root = await tempDir('bounded-memory');
  const peaks: Record<string, { prepare: number; train: number; cacheMiB: number }> = {};
  for (const perClass of [1000, 7000]) {
    const data = path.join(root, `data-${perClass}`);
    await manyImages(data, 2, perClass, 50, 40);
    const cache = path.join(root, `cache-${perClass}`);
    const prepared = await alexnet(['data', 'prepare', data, '--preset', 'mini', '--store', 'raw', '--out', cache], { env });
    t.is(prepared.code, 0, prepared.stderr);
    const c = await readDataCache(cache);
    const cacheMiB = (await splitBytes(c.splits.train!)) / 2 ** 20;
    const trained = await alexnet(['train', '--data', cache, '--preset', 'mini', '--out', path.join(root, `run-${perClass}`), '--max-steps', '3', '--batch-size', '32', '--backend', 'wasm', '--threads', '1', '--workers', '2'], { env });
    t.is(trained.code, 0, trained.stderr);
    t.regex(trained.stdout + trained.stderr, /stopped at the step limit/);
    peaks[perClass] = { prepare: prepared.peakMiB, train: trained.peakMiB, cacheMiB };
  }
  const [small, large] = [peaks[1000]!, peaks[7000]!];
  t.log(`cache ${small.cacheMiB.toFixed(1)} -> ${large.cacheMiB.toFixed(1)} MiB; peak RSS prepare ${small.prepare.toFixed(0)} -> ${large.prepare.toFixed(0)} MiB, train ${small.train.toFixed(0)} -> ${large.train.toFixed(0)} MiB`);
  t.true(large.cacheMiB - small.cacheMiB >= 2 * MARGIN_MIB, 'the check can fail: the data grows by twice the margin');
  t.true(large.prepare - small.prepare < MARGIN_MIB, `prepare grew by ${(large.prepare - small.prepare).toFixed(1)} MiB`);
  t.true(large.train - small.train < MARGIN_MIB, `train grew by ${(large.train - small.train).toFixed(1)} MiB`);
});
