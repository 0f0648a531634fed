/**
 * `alexnet dedup`: groups of near-duplicate images (paper §6.1's fc7 distance below a threshold).
 *
 * The files go into the running server's index first (as `index add` does: resumable, files
 * already stored skipped by content hash), then each is searched by its id for the neighbours
 * within --max-distance; two files are in one group when a chain of such pairs joins them
 * (single linkage), and byte-identical files always share a group. Neighbours outside the given
 * files (other items of the index) are ignored.
 */
import { ConfigError } from '../errors.js';
import type { SearchClient } from '../serve/search-client.js';
import type { ClientOptionValues } from './client-options.js';
import { progressBar } from './progress.js';
import { imageFiles } from './image-args.js';
import { addFiles, withClient } from './search-command.js';
import { plural } from '../util/plural.js';

/** Queries per SearchBatch (the server takes 256): small enough that each call ends well within --timeout on a busy server. */
const BATCH = 32;

export interface DedupOptions extends ClientOptionValues {
  maxDistance: number;
  /** Most neighbours looked at per image. */
  maxGroup: number;
  json?: boolean;
}

export interface DuplicateGroup {
  /** The files, in path order. */
  files: string[];
  /** Each file's distance to the group's first file (0 for byte-identical copies); -1 where they are joined only through others. */
  distances: number[];
}

/** Union-find over indices. */
class Groups {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) i = this.parent[i] = this.parent[this.parent[i]!]!;
    return i;
  }
  join(a: number, b: number): void {
    const [ra, rb] = [this.find(a), this.find(b)];
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Pairs (as file indices) within maxDistance, with their distances. */
async function nearPairs(c: SearchClient, ids: string[], opts: DedupOptions): Promise<Map<string, number>> {
  const byId = new Map<string, number[]>();
  ids.forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
  const unique = [...byId.keys()];
  const pairs = new Map<string, number>();
  const add = (a: number, b: number, d: number) => pairs.set(a < b ? `${a} ${b}` : `${b} ${a}`, d);
  // Queries answered with --max-group hits, some of them other items of the index: a duplicate among the files may lie beyond.
  let crowded = 0;
  for (const same of byId.values()) for (const other of same.slice(1)) add(same[0]!, other, 0);
  const bar = progressBar('finding near duplicates');
  try {
    for (let at = 0; at < unique.length; at += BATCH) {
      const chunk = unique.slice(at, at + BATCH);
      const queries = chunk.map((id) => ({ id, k: opts.maxGroup, max_distance: opts.maxDistance, exclude_self: true }));
      const { results } = await c.searchBatch(queries);
      results.forEach((r, q) => {
        if (r.error) throw new ConfigError(`searching near ${chunk[q]}: ${r.error.message}`);
        const from = byId.get(chunk[q]!)!;
        if (r.hits.length >= opts.maxGroup && r.hits.some((h) => !byId.has(h.id))) crowded++;
        for (const h of r.hits) {
          const to = byId.get(h.id);
          // Every file with these bytes is this far: a copy's distance is known, not only its twin's. The first
          // file of each id against every file of the other (a group's first is one) keeps this linear in copies.
          if (to && h.distance <= opts.maxDistance) {
            for (const a of from) add(a, to[0]!, h.distance);
            for (const b of to) add(from[0]!, b, h.distance);
          }
        }
      });
      bar.update(at + chunk.length, unique.length, `${pairs.size} pairs`);
    }
  } finally {
    bar.stop();
  }
  if (crowded > 0) {
    console.error(`warning: ${crowded} of ${unique.length} images have ${opts.maxGroup} or more items of the index within ${opts.maxDistance}, not all among these files: duplicates among the files may be missed; raise --max-group (up to 1000)`);
  }
  return pairs;
}

/** Single-linkage groups of two or more files. */
export function groupPairs(files: string[], pairs: Map<string, number>): DuplicateGroup[] {
  const g = new Groups(files.length);
  for (const key of pairs.keys()) {
    const [a, b] = key.split(' ').map(Number) as [number, number];
    g.join(a, b);
  }
  const members = new Map<number, number[]>();
  files.forEach((_, i) => members.set(g.find(i), [...(members.get(g.find(i)) ?? []), i]));
  const out: DuplicateGroup[] = [];
  for (const m of members.values()) {
    if (m.length < 2) continue;
    const first = m[0]!;
    const distance = (i: number) => (i === first ? 0 : (pairs.get(`${first} ${i}`) ?? -1));
    out.push({ files: m.map((i) => files[i]!), distances: m.map(distance) });
  }
  return out.sort((a, b) => b.files.length - a.files.length || a.files[0]!.localeCompare(b.files[0]!));
}

function printGroups(groups: DuplicateGroup[], images: number, maxDistance: number): void {
  groups.forEach((grp, n) => {
    console.log(`group ${n + 1} (${grp.files.length} images)`);
    grp.files.forEach((f, i) => console.log(`  ${i === 0 ? '        ' : grp.distances[i]! < 0 ? ' (chain)' : grp.distances[i]!.toFixed(4).padStart(8)}  ${f}`));
  });
  const dupes = groups.reduce((s, g) => s + g.files.length - 1, 0);
  console.log(`${plural(groups.length, 'group')} of near duplicates (fc7 distance <= ${maxDistance}) among ${images} images; ${dupes} could go, keeping one per group`);
}

export async function dedupCommand(args: string[], opts: DedupOptions): Promise<void> {
  if (opts.maxGroup > 1000) throw new ConfigError(`--max-group ${opts.maxGroup}: the server looks at most 1000 neighbours per image; give 1 to 1000`);
  const files = await imageFiles(args);
  // A file the server cannot embed is reported after the groups of the others, as classify and embed do.
  const { groups, grouped, failures } = await withClient(opts, async (c) => {
    const added = await addFiles(c, files, 'embedding images');
    const kept = files.map((file, i) => ({ file, id: added.ids[i]! })).filter((f) => !added.failedIds.has(f.id));
    const near = kept.length > 0 ? await nearPairs(c, kept.map((f) => f.id), opts) : new Map<string, number>();
    return { groups: groupPairs(kept.map((f) => f.file), near), grouped: kept.length, failures: added.failures };
  });
  if (opts.json) console.log(JSON.stringify(groups));
  else printGroups(groups, grouped, opts.maxDistance);
  for (const f of failures) console.error(`alexnet: ${f}`);
  if (failures.length > 0) throw new ConfigError(`${failures.length} of ${files.length} images could not be embedded (above): they are in no group`);
}
