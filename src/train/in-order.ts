/**
 * Parallel work with results taken in order: `work(i)` runs for `concurrency` items at once (sharp
 * decodes on libuv's thread pool, one image per thread), while `take(i, result)` sees them one by
 * one in index order, so what is written does not depend on which decode finished first. Work
 * runs ahead of the taking by up to `ahead` items (finished results wait their turn), so a slow
 * take never leaves a worker idle; at most `ahead` results are held. `commit(next)` is called every
 * `commitEvery` items (and at the end or on abort) with the first item not yet taken: the point a
 * rerun resumes from.
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
  const slots = Math.max(1, concurrency);
  const ahead = 4 * slots;
  let active = 0;
  const queued: (() => void)[] = [];
  const run = async (i: number): Promise<R> => {
    if (active < slots) active++;
    else await new Promise<void>((start) => queued.push(start)); // the slot is handed over by the one finishing
    try {
      return await work(i);
    } finally {
      const nextInLine = queued.shift();
      if (nextInLine) nextInLine();
      else active--;
    }
  };
  const window: Promise<R>[] = [];
  let issued = from;
  let next = from;
  const fill = () => {
    while (issued < count && window.length < ahead && !signal?.aborted) window.push(run(issued++));
  };
  try {
    fill();
    while (next < count && !signal?.aborted) {
      const result = await window.shift()!;
      fill();
      await take(next, result);
      next++;
      if ((next - from) % commitEvery === 0) await commit(next);
    }
  } finally {
    // Results of a stopped run are dropped; their work may still be running: let it settle.
    queued.splice(0).forEach((start) => start());
    await Promise.allSettled(window);
  }
  await commit(next);
  return next;
}
