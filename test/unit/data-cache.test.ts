/** The data cache's meta.json: written with `baseSize`; a cache written before the rename (`base`) still reads. */
import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SplitWriter, cacheState, readDataCache, writeDataCache } from '../../src/train/data-cache.js';
import { tempDir } from '../temp-dir.js';

test('meta.json holds baseSize; one holding the old key base reads the same', async (t) => {
  const dir = await tempDir('data-cache');
  const split = () => {
    const w = new SplitWriter(2, 4);
    w.add(new Uint8Array(4 * 4 * 3).fill(10), 0);
    w.add(new Uint8Array(4 * 4 * 3).fill(20), 1);
    return w;
  };
  await writeDataCache(dir, 4, ['a', 'b'], { train: split(), val: split() }, 'test');
  const written = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8'));
  t.is(written.baseSize, 4);
  t.false('base' in written);
  const current = await readDataCache(dir);
  const { baseSize, ...old } = written;
  await fs.writeFile(path.join(dir, 'meta.json'), JSON.stringify({ ...old, base: baseSize }));
  t.is(await cacheState(dir), 'current');
  const legacy = await readDataCache(dir);
  t.is(legacy.meta.baseSize, 4);
  t.false('base' in legacy.meta);
  t.deepEqual(legacy.splits.train!.images, current.splits.train!.images);
});
