/**
 * Writing a prepared cache as a stream of images, in bounded memory, resumable after a kill.
 *
 * Everything goes into `<out>.partial/` first. Records are appended to each split's files; every
 * `commit(next)` syncs them, writes `stats-<next>.bin` (the training mean and RGB covariance sums
 * so far), then atomically rewrites `journal.json` (how many bytes of each file are good, how many
 * source items were consumed, the skipped files, the statistics file): the journal is the commit
 * point. Opening the same preparation again (same
 * fingerprint) truncates the files to the journal and goes on from there, so a resumed run writes
 * the same bytes as an uninterrupted one. `finish()` writes mean.f32 and meta.json and renames the
 * directory into place (a previous cache at `<out>` is replaced only then). A full disk removes
 * the partial directory and says so; the previous cache is untouched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { takeLock } from '../util/dir-lock.js';
import { ImageStatistics, rgbPca } from '../image/pca.js';
import { writeAtomic } from '../util/atomic-file.js';
import { CACHE_FORMAT, CACHE_VERSION, cacheState, splitFiles, type CacheMeta, type ImageStore, type SplitName } from './cache-format.js';

export interface CacheSpec {
  baseSize: number;
  store: ImageStore;
  quality?: number;
  classes: string[];
  source: string;
  splits: SplitName[];
  /** What makes two preparations the same (source listing, options): a partial one resumes only under the same fingerprint. */
  fingerprint: string;
  /** The --val-split that made the val split, recorded in meta.json. */
  valSplit?: number;
  /** The largest image decoded, in pixels, recorded in meta.json. */
  maxPixels?: number;
}

interface Journal {
  fingerprint: string;
  /** Source items consumed (written or skipped). */
  next: number;
  counts: Partial<Record<SplitName, number>>;
  bytes: Partial<Record<SplitName, number>>;
  skipped: CacheMeta['skipped'];
  /** The statistics file of this commit (written before the journal that names it). */
  stats: string;
}

interface SplitOutput {
  images: fs.FileHandle;
  labels: fs.FileHandle;
  offsets?: fs.FileHandle;
  count: number;
  bytes: number;
}

const JOURNAL = 'journal.json';

/** The `source` a cache's meta.json names (undefined when unreadable). */
async function readCacheSource(dir: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'meta.json'), 'utf8')) as { source?: unknown };
    return typeof meta.source === 'string' ? meta.source : undefined;
  } catch {
    return undefined;
  }
}

/** A failed write in the user's terms; ENOSPC gets its own message. */
function writeError(e: unknown, out: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new ConfigError(`no space left on the device of ${path.dirname(path.resolve(out))} while preparing ${out}: free some space or choose another --out (nothing was kept; an earlier cache there is untouched)`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new ConfigError(`cannot write ${out}: ${(e as Error).message}`, { cause: e });
  return e as Error;
}

export class CacheWriter {
  readonly skipped: CacheMeta['skipped'];
  /** Source items already consumed by an earlier, interrupted run (0 for a fresh one). */
  readonly resumeFrom: number;
  /** Images an interrupted preparation of other files or options had done: started over instead (0 when none). */
  restartedAfter = 0;
  private readonly stats: ImageStatistics;
  /** The statistics file the journal on disk names. */
  private statsFile: string | undefined;

  private constructor(
    readonly out: string,
    private readonly dir: string,
    private readonly spec: CacheSpec,
    private readonly outputs: Partial<Record<SplitName, SplitOutput>>,
    journal: Journal | undefined,
    stats: Uint8Array | undefined,
    private readonly release: () => void,
  ) {
    this.skipped = journal ? [...journal.skipped] : [];
    this.resumeFrom = journal?.next ?? 0;
    this.statsFile = journal?.stats;
    this.stats = new ImageStatistics(spec.baseSize);
    if (stats) this.stats.restore(stats);
  }

  /** Open `<out>.partial/`, resuming it when it holds an interrupted run of the same preparation. */
  static async open(out: string, spec: CacheSpec): Promise<CacheWriter> {
    // One preparation of `out` at a time: two would write the same partial files.
    const release = await takeLock(`${out}.lock`, `the cache ${out}`);
    try {
      return await CacheWriter.openLocked(out, spec, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  private static async openLocked(out: string, spec: CacheSpec, release: () => void): Promise<CacheWriter> {
    await restorePrevious(out).catch((e: unknown) => Promise.reject(writeError(e, out)));
    // What finish() replaces must be a cache or nothing: never someone's files.
    const entries = await fs.readdir(out).catch(() => [] as string[]);
    if (entries.length > 0 && (await cacheState(out)) === 'none') throw new ConfigError(`${out} exists and is not a prepared data cache: choose another --out`);
    // Nor the images of another source: a typo of --out would throw away hours of preparation.
    const earlier = entries.length > 0 ? await readCacheSource(out) : undefined;
    if (earlier !== undefined && earlier !== spec.source) {
      throw new ConfigError(`${out} holds images prepared from ${earlier.replace(/^folder:/, '')}, not ${spec.source.replace(/^folder:/, '')}: choose another --out, or remove ${out} first to replace it`);
    }
    const dir = `${out}.partial`;
    let journal: Journal | undefined;
    let stats: Uint8Array | undefined;
    let stale = 0;
    try {
      journal = JSON.parse(await fs.readFile(path.join(dir, JOURNAL), 'utf8')) as Journal;
      stats = new Uint8Array(await fs.readFile(path.join(dir, path.basename(journal.stats))));
      if (journal.fingerprint !== spec.fingerprint) {
        stale = journal.next;
        journal = undefined;
      }
    } catch {
      journal = undefined;
    }
    try {
      if (!journal) {
        await fs.rm(dir, { recursive: true, force: true });
        stats = undefined;
      }
      await fs.mkdir(dir, { recursive: true });
      const outputs: Partial<Record<SplitName, SplitOutput>> = {};
      for (const name of spec.splits) {
        const files = splitFiles(dir, name, spec.store);
        const count = journal?.counts[name] ?? 0;
        const bytes = journal?.bytes[name] ?? 0;
        // 'a+' would ignore positions on Linux: open read-write, creating, then cut to the journal.
        const open = async (file: string, keep: number) => {
          const h = await fs.open(file, await fs.stat(file).then(() => 'r+', () => 'w+'));
          await h.truncate(keep);
          return h;
        };
        outputs[name] = {
          images: await open(files.images, bytes),
          labels: await open(files.labels, count * 2),
          ...(spec.store === 'jpeg' ? { offsets: await open(files.offsets, count * 8) } : {}),
          count,
          bytes,
        };
      }
      const writer = new CacheWriter(out, dir, spec, outputs, journal, stats, release);
      writer.restartedAfter = stale;
      return writer;
    } catch (e) {
      throw writeError(e, out);
    }
  }

  /** Append one image to `split`: its pixels (for the training statistics, and the record itself with store raw) and, with store jpeg, its encoded bytes. */
  async append(split: SplitName, label: number, pixels: Uint8Array, encoded?: Uint8Array): Promise<void> {
    const o = this.outputs[split];
    if (!o) throw new Error(`split ${split} was not declared`);
    const record = this.spec.store === 'raw' ? pixels : encoded;
    if (!record) throw new Error('store jpeg: the encoded image is missing');
    try {
      await Promise.all([
        o.offsets?.write(new Uint8Array(Float64Array.of(o.bytes).buffer), 0, 8, o.count * 8),
        o.images.write(record, 0, record.length, o.bytes),
        o.labels.write(new Uint8Array(Uint16Array.of(label).buffer), 0, 2, o.count * 2),
      ]);
    } catch (e) {
      throw writeError(e, this.out);
    }
    o.bytes += record.length;
    o.count++;
    if (split === 'train') this.stats.add(pixels);
  }

  skip(file: string, reason: string): void {
    this.skipped.push({ path: file, reason });
  }

  count(split: SplitName): number {
    return this.outputs[split]?.count ?? 0;
  }

  /** Make everything appended so far durable and resumable from source item `next`. */
  async commit(next: number): Promise<void> {
    try {
      for (const o of Object.values(this.outputs)) await Promise.all([o.images.sync(), o.labels.sync(), o.offsets?.sync()]);
      // The statistics go to a file of their own, named in the journal written after them: a kill between the two leaves the previous pair.
      const stats = `stats-${next}.bin`;
      const journal: Journal = { fingerprint: this.spec.fingerprint, next, counts: {}, bytes: {}, skipped: this.skipped, stats };
      for (const [name, o] of Object.entries(this.outputs) as [SplitName, SplitOutput][]) {
        journal.counts[name] = o.count;
        journal.bytes[name] = o.bytes;
      }
      await writeAtomic(path.join(this.dir, stats), this.stats.save());
      await writeAtomic(path.join(this.dir, JOURNAL), JSON.stringify(journal));
      if (this.statsFile && this.statsFile !== stats) await fs.rm(path.join(this.dir, this.statsFile), { force: true });
      this.statsFile = stats;
    } catch (e) {
      throw writeError(e, this.out);
    }
  }

  /** Complete the cache (mean image, PCA, meta.json) and put it in place of `<out>`. */
  async finish(): Promise<CacheMeta> {
    if (this.count('train') === 0) throw new ConfigError('the training split is empty: no readable training image');
    const counts: CacheMeta['counts'] = {};
    try {
      for (const [name, o] of Object.entries(this.outputs) as [SplitName, SplitOutput][]) {
        if (o.offsets) await o.offsets.write(new Uint8Array(Float64Array.of(o.bytes).buffer), 0, 8, o.count * 8);
        counts[name] = o.count;
      }
      await this.closeFiles(true);
      await writeAtomic(path.join(this.dir, 'mean.f32'), new Uint8Array(this.stats.meanImage().buffer));
      const meta: CacheMeta = {
        format: CACHE_FORMAT,
        version: CACHE_VERSION,
        baseSize: this.spec.baseSize,
        store: this.spec.store,
        ...(this.spec.store === 'jpeg' ? { quality: this.spec.quality } : {}),
        classes: this.spec.classes,
        counts,
        pca: rgbPca(this.stats.covariance()),
        source: this.spec.source,
        fingerprint: this.spec.fingerprint,
        ...(this.spec.valSplit !== undefined ? { valSplit: this.spec.valSplit } : {}),
        ...(this.spec.maxPixels !== undefined ? { maxPixels: this.spec.maxPixels } : {}),
        skipped: this.skipped,
        createdAt: new Date().toISOString(),
      };
      await writeAtomic(path.join(this.dir, 'meta.json'), JSON.stringify(meta, null, 1));
      // The journal stays until the rename: killed before it, the next run finishes from the journal instead of starting over.
      await replaceDir(this.dir, this.out);
      await fs.rm(path.join(this.out, JOURNAL), { force: true });
      if (this.statsFile) await fs.rm(path.join(this.out, this.statsFile), { force: true });
      this.release();
      return meta;
    } catch (e) {
      throw writeError(e, this.out);
    }
  }

  /** Stop: close the files, keeping the partial directory to resume (`keep`) or removing it. */
  async close(keep: boolean): Promise<void> {
    await this.closeFiles(false);
    if (!keep) await fs.rm(this.dir, { recursive: true, force: true });
    this.release();
  }

  private async closeFiles(sync: boolean): Promise<void> {
    for (const o of Object.values(this.outputs)) {
      for (const h of [o.images, o.labels, o.offsets]) {
        if (!h) continue;
        if (sync) await h.sync();
        await h.close().catch(() => undefined);
      }
    }
  }
}

/** Where replaceDir moves an earlier cache while the new one goes in: inside the new one, so nothing else ever has its name. */
const PREVIOUS = 'previous-cache';

/** An earlier cache that a killed replaceDir left moved aside: put back when `<out>` is missing (it stays until a new one replaces it), else removed. */
async function restorePrevious(out: string): Promise<void> {
  const inPartial = path.join(`${out}.partial`, PREVIOUS);
  const there = (p: string) => fs.stat(p).then(() => true, () => false);
  if (!(await there(out)) && (await there(inPartial))) await fs.rename(inPartial, out);
  else if ((await cacheState(out)) !== 'none') await fs.rm(path.join(out, PREVIOUS), { recursive: true, force: true });
}

/** Put the finished directory `from` at `to`; an earlier cache there is moved aside and removed only once the new one is in place. */
async function replaceDir(from: string, to: string): Promise<void> {
  const existed = await fs.stat(to).then(() => true, () => false);
  if (existed) await fs.rename(to, path.join(from, PREVIOUS));
  try {
    await fs.rename(from, to);
  } catch (e) {
    // The partial directory is removed on failure: the earlier cache goes back first.
    if (existed) await fs.rename(path.join(from, PREVIOUS), to).catch(() => undefined);
    throw e;
  }
  if (existed) await fs.rm(path.join(to, PREVIOUS), { recursive: true, force: true });
}
