/**
 * `alexnet index list`, `index delete --all|--where` and `index prune`: the commands that walk every
 * stored item, a List page at a time (in the byte order of ids, vectors left out), so they work
 * on an index of any size, and on one of another model (to empty it).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { plural } from '../util/plural.js';
import type { StoredItem__Output } from '../serve/generated/alexnet/v1/StoredItem.js';
import type { SearchClient } from '../serve/search-client.js';
import type { ClientOptionValues } from './client-options.js';
import { progressBar } from './progress.js';
import { contentId, whereFilter, withClient } from './search-command.js';

/** The most a List page holds, and a Delete takes. */
const PAGE = 1000;

/** Every item matching `where`, a page at a time; `each` may delete the page's items (the next page starts after its last id). */
async function forEachPage(c: SearchClient, where: string[], each: (items: StoredItem__Output[]) => Promise<void>): Promise<void> {
  let token = '';
  do {
    const page = await c.list({ page_size: PAGE, page_token: token, filter: whereFilter(where) });
    if (page.items.length > 0) await each(page.items);
    token = page.next_page_token;
  } while (token !== '');
}

const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ');

export async function indexListCommand(opts: ClientOptionValues & { where?: string[]; json?: boolean }): Promise<void> {
  await withClient(opts, async (c) => {
    let n = 0;
    await forEachPage(c, opts.where ?? [], async (items) => {
      n += items.length;
      // Lines as they come (an index of millions is never held): JSON lines, or id, uri, predicted class, labels by tabs.
      const lines = items.map((i) => (opts.json ? JSON.stringify({ id: i.id, uri: i.uri, labels: i.labels, predicted_class: i.predicted_class }) : [i.id, i.uri, i.predicted_class, labelText(i.labels)].join('\t')));
      process.stdout.write(`${lines.join('\n')}\n`);
    });
    if (n === 0 && !opts.json) console.error(opts.where?.length ? '(no item matches the filter)' : '(the index is empty)');
  });
}

/** `index delete --all` / `--where`: every matching item, a page at a time, with a progress bar. */
export async function indexDeleteMatching(opts: ClientOptionValues & { all?: boolean; where?: string[] }): Promise<void> {
  const deleted = await withClient(opts, async (c) => {
    const total = Number((await c.describe()).count);
    const bar = progressBar('deleting');
    let n = 0;
    try {
      await forEachPage(c, opts.where ?? [], async (items) => {
        n += (await c.delete(items.map((i) => i.id))).deleted;
        bar.update(n, opts.all ? Math.max(n, total) : n);
      });
    } finally {
      bar.stop();
    }
    return n;
  });
  console.log(`deleted ${deleted} item${deleted === 1 ? '' : 's'}${opts.where?.length ? ` matching ${opts.where.join(' ')}` : ''}`);
}

/** How `index add` names a file's item: the first 32 hex digits of its SHA-256. */
const CONTENT_ID = /^[0-9a-f]{32}$/;

/** Why an item `index add` stored from a file no longer stands for it: the file is gone, or holds other bytes now; undefined while it does. */
async function staleness(item: StoredItem__Output): Promise<'gone' | 'changed' | undefined> {
  const bytes = await fs.readFile(item.uri).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? 'gone' : undefined));
  if (bytes === undefined || bytes === 'gone') return bytes;
  return contentId(bytes) === item.id ? undefined : 'changed';
}

/**
 * `index prune`: delete the items `index add` stored from files that are gone or were edited since
 * (an edited photo is stored again under its new content's id, the old item stays). Items with
 * other ids, or whose uri is no absolute path, are left alone. If no stored file is found on this
 * machine, nothing is deleted without --force (the photos may live on a disk not mounted here).
 */
export async function indexPruneCommand(opts: ClientOptionValues & { where?: string[]; dryRun?: boolean; force?: boolean }): Promise<void> {
  const r = await withClient(opts, async (c) => {
    const stale: { id: string; uri: string; why: string }[] = [];
    let checked = 0;
    let present = 0;
    const bar = progressBar('checking stored files');
    try {
      await forEachPage(c, opts.where ?? [], async (items) => {
        for (const item of items) {
          if (!CONTENT_ID.test(item.id) || !path.isAbsolute(item.uri)) continue;
          checked++;
          const why = await staleness(item);
          if (why === undefined || why === 'changed') present++;
          if (why !== undefined) stale.push({ id: item.id, uri: item.uri, why });
        }
        bar.update(checked, checked);
      });
    } finally {
      bar.stop();
    }
    if (checked > 0 && present === 0 && !opts.force && !opts.dryRun) {
      throw new ConfigError(`none of the ${checked} files the index was given is on this machine (is the photo folder mounted here?): nothing deleted; --dry-run lists them, --force deletes them`);
    }
    let deleted = 0;
    if (!opts.dryRun) for (let at = 0; at < stale.length; at += PAGE) deleted += (await c.delete(stale.slice(at, at + PAGE).map((s) => s.id))).deleted;
    return { stale, checked, deleted };
  });
  for (const s of r.stale) console.log(`${s.why === 'gone' ? 'gone   ' : 'changed'}\t${s.id}\t${s.uri}`);
  const gone = r.stale.filter((s) => s.why === 'gone').length;
  const what = `${gone} gone, ${r.stale.length - gone} changed since they were added, of ${r.checked} files checked`;
  console.error(opts.dryRun ? `would delete ${plural(r.stale.length, 'item')} (${what}); run without --dry-run to delete them` : `deleted ${plural(r.deleted, 'item')} (${what})`);
}
