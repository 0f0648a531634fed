/**
 * bench:search's end-to-end part: the real server (in this process, as bench:reload starts it)
 * serving the shipped model with --index at a LanceDB directory of the 70,000 Fashion-MNIST fc7
 * vectors, queried by image bytes (the test images as PNGs) with the SearchClient, k = 10, at
 * each concurrency: queries/s and p50/p99 latency as the client sees them.
 *
 * It also checks the bench's vectors against the server's own: Embed on a sample of the images
 * (largest difference to the cached vector), and whether a Search by an indexed image's bytes
 * returns that image first (its own vector, at distance ~0).
 */
import { AlexNetClient } from '../src/serve/client.js';
import { createLogger } from '../src/serve/log.js';
import { SearchClient } from '../src/serve/search-client.js';
import { startServer } from '../src/serve/server.js';
import { percentile } from './search-measure.js';

export interface GrpcLevel {
  concurrency: number;
  queries: number;
  qps: number;
  p50: number;
  p99: number;
  selfFirst: number;
  failed: number;
}

export interface GrpcResult {
  embedMaxDiff: number;
  embedMaxRelDiff: number;
  embedChecked: number;
  levels: GrpcLevel[];
}

export async function benchGrpc(opts: {
  model: string;
  index: string;
  /** Images by base index (`id` in the index) as PNG bytes. */
  png: (i: number) => Promise<Buffer>;
  vectors: Float32Array;
  dim: number;
  queryIds: number[];
  concurrency: number[];
  k: number;
}): Promise<GrpcResult> {
  const server = await startServer({ model: opts.model, index: opts.index, port: 0, device: 'cpu', logger: createLogger('warn') });
  const alexnet = new AlexNetClient(server.address);
  const search = new SearchClient(server.address);
  try {
    const images = await Promise.all(opts.queryIds.map((i) => opts.png(i)));
    // The bench's vectors against Embed's, on the first 50 query images.
    let maxDiff = 0;
    let maxRel = 0;
    const checked = opts.queryIds.slice(0, 50);
    for (const [j, i] of checked.entries()) {
      const r = await alexnet.embed({ image: images[j]! });
      const v = r.embedding!.vector;
      let d2 = 0;
      let n2 = 0;
      for (let t = 0; t < opts.dim; t++) {
        const ref = opts.vectors[i * opts.dim + t]!;
        maxDiff = Math.max(maxDiff, Math.abs(v[t]! - ref));
        d2 += (v[t]! - ref) ** 2;
        n2 += ref * ref;
      }
      maxRel = Math.max(maxRel, Math.sqrt(d2 / n2));
    }
    const levels: GrpcLevel[] = [];
    for (const concurrency of opts.concurrency) {
      const warm = Math.min(2 * concurrency, images.length);
      for (let j = 0; j < warm; j++) await search.search({ image: images[j]!, k: opts.k });
      const times: number[] = [];
      let next = 0;
      let selfFirst = 0;
      let failed = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let j = next++; j < images.length; j = next++) {
            const s = performance.now();
            try {
              const r = await search.search({ image: images[j]!, k: opts.k });
              times.push(performance.now() - s);
              const first = r.hits[0];
              if (first && first.id === String(opts.queryIds[j]) && first.distance < 1e-3) selfFirst++;
            } catch {
              failed++;
            }
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      times.sort((a, b) => a - b);
      levels.push({ concurrency, queries: times.length, qps: times.length / seconds, p50: percentile(times, 50), p99: percentile(times, 99), selfFirst, failed });
    }
    return { embedMaxDiff: maxDiff, embedMaxRelDiff: maxRel, embedChecked: checked.length, levels };
  } finally {
    alexnet.close();
    search.close();
    await server.shutdown('bench done');
  }
}
