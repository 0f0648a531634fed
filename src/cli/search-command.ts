/** `alexnet index add|info|delete` and `alexnet search`: clients of a running server's ImageSearch. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { SearchClient } from '../serve/search-client.js';
import type { UpsertRequest } from '../serve/generated/alexnet/v1/UpsertRequest.js';
import { clientSecurity, type ClientOptionValues } from './client-options.js';
import { imageFiles } from './image-args.js';
import { progressBar } from './progress.js';
import { callError, READ_ERRORS, tooLargeRequest } from './serve-command.js';

/** Files hashed, looked up and sent per round (Get takes at most 1000 ids)... */
const CHUNK = 256;
/** ...and at most this many bytes of them (one file at least), so memory stays flat with big photos. */
const ROUND_BYTES = 64 * 2 ** 20;

/** The files of the round starting at `at`. */
async function round(files: string[], at: number): Promise<string[]> {
  let bytes = 0;
  let end = at;
  while (end < files.length && end - at < CHUNK) {
    const size = (await fs.stat(files[end]!).catch(() => undefined))?.size ?? 0;
    if (end > at && bytes + size > ROUND_BYTES) break;
    bytes += size;
    end++;
  }
  return files.slice(at, end);
}

export async function withClient<T>(opts: ClientOptionValues & { timeout?: number }, work: (c: SearchClient) => Promise<T>): Promise<T> {
  const { SearchClient } = await import('../serve/search-client.js');
  const server = opts.server;
  const c = new SearchClient(server, {}, clientSecurity(opts), opts.timeout !== undefined ? opts.timeout * 1000 : undefined);
  try {
    return await work(c).catch((e: unknown) => {
      if ((e as { code?: number }).code === 4) throw new ConfigError(`the server at ${server} did not answer within ${opts.timeout} s (--timeout): it may be stopped or overloaded, or its index database stuck`);
      throw new ConfigError(callError(e, 'the server refused', server));
    });
  } finally {
    c.close();
  }
}

/** An image's id: the first 32 hex digits of its content's SHA-256 (the same file twice is one item). */
export const contentId = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').slice(0, 32);

/** What `addFiles` did: each file's id (in the order given) and the counts. */
export interface Added {
  ids: string[];
  added: number;
  skipped: number;
  /** Files with the same bytes as one given before them: one item, sent once. */
  copies: number;
  /** Stored items whose file is gone from the stored path and found at this one: path and class label updated. */
  moved: number;
  failures: string[];
  /** The ids of the files that failed (not stored). */
  failedIds: Set<string>;
}

/**
 * Upsert on one stream. A file over the server's size limit ends the whole stream (grpc-js
 * refuses the message), so then the items go again one stream each and only that file fails.
 */
async function upsertSplitting(c: SearchClient, items: UpsertRequest[]): Promise<{ ok?: boolean; error?: { message?: string } | null }[]> {
  try {
    return await c.upsert(items);
  } catch (e) {
    const why = tooLargeRequest(e);
    if (why === undefined) throw e;
    if (items.length === 1) return [{ ok: false, error: { message: why } }];
    const out = [];
    for (const it of items) out.push(...(await upsertSplitting(c, [it])));
    return out;
  }
}

/** Store these files in the index (those already stored, by content hash, are skipped), with a progress bar. */
export async function addFiles(c: SearchClient, files: string[], title = 'indexing images'): Promise<Added> {
  const r: Added = { ids: [], added: 0, skipped: 0, copies: 0, moved: 0, failures: [], failedIds: new Set() };
  const seen = new Set<string>();
  const bar = progressBar(title);
  try {
    for (let at = 0, chunk: string[] = []; at < files.length; at += chunk.length) {
      chunk = await round(files, at);
      // A file that cannot be read (gone, a broken link, no permission) fails alone; its id is ''.
      const bytes = await Promise.all(chunk.map((f) => fs.readFile(f).catch((e: NodeJS.ErrnoException) => e)));
      const ids = bytes.map((b) => (Buffer.isBuffer(b) ? contentId(b) : ''));
      r.ids.push(...ids);
      // Resumable: what the index already holds is not sent again.
      const readable = ids.filter((id) => id !== '');
      const got = readable.length > 0 ? (await c.get({ ids: readable, allow_missing: true })).items : [];
      const storedUri = new Map(readable.flatMap((id, i) => (got[i]?.found ? [[id, got[i]!.uri] as const] : [])));
      const todo: { id: string; image: Buffer; uri: string; labels: Record<string, string> }[] = [];
      const moving = new Set<string>();
      for (const [i, file] of chunk.entries()) {
        const id = ids[i]!;
        const b = bytes[i]!;
        const was = storedUri.get(id);
        if (!Buffer.isBuffer(b)) {
          r.failures.push(`${file}: cannot read it: ${READ_ERRORS[b.code ?? ''] ?? b.message}`);
          r.failedIds.add(id);
        } else if (seen.has(id)) r.copies++;
        // Stored from another path: kept while that file is there (a copy), stored again from here once it is gone (moved).
        else if (was !== undefined && (was === file || (await fs.access(was).then(() => true, () => false)))) r.skipped++;
        else {
          if (was !== undefined) moving.add(id);
          todo.push({ id, image: b, uri: file, labels: { class: path.basename(path.dirname(file)) } });
        }
        seen.add(id);
      }
      const results = todo.length > 0 ? await upsertSplitting(c, todo) : [];
      results.forEach((res, i) => {
        if (res.ok) return void (moving.has(todo[i]!.id) ? r.moved++ : r.added++);
        r.failures.push(`${todo[i]!.uri}: ${res.error?.message ?? 'not stored'}`);
        r.failedIds.add(todo[i]!.id);
      });
      bar.update(at + chunk.length, files.length, `${r.added} added, ${r.skipped} already there, ${r.failures.length} failed`);
    }
  } finally {
    bar.stop();
  }
  return r;
}

export async function indexAddCommand(args: string[], opts: ClientOptionValues): Promise<void> {
  const files = await imageFiles(args);
  const r = await withClient(opts, (c) => addFiles(c, files));
  const copies = r.copies > 0 ? `, ${r.copies} ${r.copies === 1 ? 'a copy' : 'copies'} of another file given (one item per content)` : '';
  const moved = r.moved > 0 ? `, ${r.moved} moved (stored path gone: path and class label updated)` : '';
  console.log(`${r.added} added, ${r.skipped} already in the index${moved}${copies}, ${r.failures.length} failed (of ${files.length} files)`);
  for (const f of r.failures) console.error(`alexnet: ${f}`);
  if (r.failures.length > 0) throw new ConfigError(`${r.failures.length} of ${files.length} images failed`);
}

/** `key=value` -> a filter pair. */
export function labelPair(s: string): [string, string] {
  const at = s.indexOf('=');
  if (at <= 0) throw new ConfigError(`--where ${s}: write it as key=value`);
  return [s.slice(0, at), s.slice(at + 1)];
}

/** --where pairs as a filter: different keys must all hold; the same key given again matches any of its values. */
export function whereFilter(where: string[]): { equals: Record<string, string>; one_of: Record<string, { values: string[] }> } {
  const byKey = new Map<string, string[]>();
  for (const [k, v] of where.map(labelPair)) byKey.set(k, [...new Set([...(byKey.get(k) ?? []), v])]);
  const equals: Record<string, string> = {};
  const oneOf: Record<string, { values: string[] }> = {};
  for (const [k, values] of byKey) {
    if (values.length === 1) equals[k] = values[0]!;
    else oneOf[k] = { values };
  }
  return { equals, one_of: oneOf };
}

export async function searchCommand(image: string | undefined, opts: ClientOptionValues & { id?: string; topK: number; where?: string[]; maxDistance?: number; json?: boolean }): Promise<void> {
  if ((image === undefined) === (opts.id === undefined)) throw new ConfigError('give an image file or --id <id> (one of them): what to search near');
  const query = opts.id !== undefined ? { id: opts.id, exclude_self: true } : {
    image: await fs.readFile(image!).catch((e: NodeJS.ErrnoException) => {
      const why = READ_ERRORS[e.code ?? ''] ?? e.message;
      throw new ConfigError(`cannot read ${image}: ${why}${e.code === 'EISDIR' ? ' (search takes one image; dedup or index add take folders)' : ''}`);
    }),
  };
  const r = await withClient(opts, (c) => c.search({ ...query, k: opts.topK, filter: whereFilter(opts.where ?? []), max_distance: opts.maxDistance ?? 0 }));
  if (opts.json) {
    console.log(JSON.stringify(r.hits));
    return;
  }
  const rows = r.hits.map((h, i) => [String(i + 1), h.distance.toFixed(4), h.id, h.uri, h.predicted_class, Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(' ')]);
  printTable(['rank', 'distance', 'id', 'uri', 'predicted', 'labels'], rows);
  if (rows.length === 0) console.log('(no hits: the index is empty or nothing matches the filter)');
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) console.log(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

export async function indexInfoCommand(opts: ClientOptionValues & { json?: boolean }): Promise<void> {
  const d = await withClient(opts, (c) => c.describe());
  if (opts.json) return console.log(JSON.stringify(d));
  console.log(`location   ${d.location}\nbackend    ${d.backend}\nmodel      ${d.model?.name} (version ${d.model?.version})\nitems      ${d.count} (${d.dimension}-d, ${d.metric})\nindexed    ${d.indexed} by the approximate index, ${d.unindexed} searched exactly`);
  if (d.served_model && !d.matches_served_model) {
    console.log(`served     ${d.served_model.name} (version ${d.served_model.version}): another model than the index's, so searches and adds are refused;\n           empty it (alexnet index delete --all) and run alexnet index add again`);
  }
}

export async function indexDeleteCommand(ids: string[], opts: ClientOptionValues): Promise<void> {
  // The server takes at most 1000 ids a call.
  const deleted = await withClient(opts, async (c) => {
    let n = 0;
    for (let at = 0; at < ids.length; at += 1000) n += (await c.delete(ids.slice(at, at + 1000))).deleted;
    return n;
  });
  console.log(`deleted ${deleted} of ${ids.length} ids`);
}
