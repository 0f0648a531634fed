/**
 * Parallel work with results taken in order: `work(i)` runs for several items at once (sharp
 * decodes on libuv's thread pool, one image per thread), while `take(i, result)` sees them one by
 * one in index order, so what is written does not depend on which decode finished first. At most
 * `concurrency` results are held at a time. `commit(next)` is called every `commitEvery` items
 * (and at the end or on abort) with the first item not yet taken: the point a rerun resumes from.
 */
export async function inOrder<R>(
  count: number,
  from: number,
  concurrency: number,
  work: (i: number) => Promise<R>,
  take: (i: number, result: R) => Promise<void>,
  commit: (next: number) => Promise<void>,
  signal?: AbortSignal,
  commitEvery = 256,
): Promise<number> {
  const window: Promise<R>[] = [];
  let issued = from;
  let next = from;
  try {
    while (next < count && !signal?.aborted) {
      while (issued < count && window.length < Math.max(1, concurrency)) window.push(work(issued++));
      const result = await window.shift()!;
      await take(next, result);
      next++;
      if ((next - from) % commitEvery === 0) await commit(next);
    }
  } finally {
    // Results of a stopped run are dropped; their decodes may still be running: let them settle.
    await Promise.allSettled(window);
  }
  await commit(next);
  return next;
}
