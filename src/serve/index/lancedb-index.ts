/**
 * The embedded backend: one LanceDB table in a directory (every write an atomic versioned commit,
 * so a killed server reopens with every acknowledged batch). Exact search below
 * ANN_THRESHOLD rows; above it an IVF_HNSW_SQ index, with the rows added since folded in by a
 * background optimize (until then LanceDB searches them by brute force, and latency decays).
 * LanceDB returns squared L2: distances are square-rooted here.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, List, Schema, Utf8 } from 'apache-arrow';
import { LockHeldError, takeLock } from '../../util/dir-lock.js';
import { indexFolderHeld } from './index-errors.js';
import { readIdentity, reboundError, sameModel, writeIdentity } from './index-identity.js';
import { filterClauses, idClause, labelPairs, sqlString } from './label-filter.js';
import { compareIds, type IndexDescription, type IndexFilter, type IndexIdentity, type IndexItem, type ListedItem, type SearchHit, type SearchOptions, type VectorIndex } from './vector-index.js';

// Index statistics without the centroids (LanceDB warns on every describe otherwise).
process.env.LANCE_INCLUDE_VECTOR_CENTROIDS ??= 'false';

const TABLE = 'items';
const VECTOR_INDEX = 'vector_idx';

export interface LanceDbOptions {
  /** Rows from which an approximate (HNSW) index is built; below it every search is exact. Default 10,000. */
  annThreshold?: number;
  /** Optimize after this many upserted rows (default 1,000) ... */
  optimizeEveryRows?: number;
  /** ... and every this many ms while rows wait (default 60 s; 0: never by time). */
  optimizeIntervalMs?: number;
  /** HNSW candidate list per query, raised to k x refineFactor when that is larger (default 64). */
  ef?: number;
  /** Candidates fetched per hit wanted and re-ranked by their full-precision vectors (the index holds 8-bit SQ codes; default 4). */
  refineFactor?: number;
  /** IVF partitions searched; 0 (the default) leaves LanceDB's own. */
  nprobes?: number;
}

/** One caller's items waiting for the next commit, and whether they were refused there. */
interface PendingUpsert {
  items: readonly IndexItem[];
  madeBy: IndexIdentity | undefined;
  refused?: IndexIdentity;
}

interface Row {
  id: string;
  vector: number[] | { toArray(): Float32Array };
  uri: string;
  labels: string;
  predicted_class: string;
  _distance?: number;
}

/** A killed writer leaves data/.tmp* files that optimize never removes; a fresh open owns the directory. */
async function removeOrphans(dir: string): Promise<void> {
  const data = path.join(dir, `${TABLE}.lance`, 'data');
  const names = await fs.readdir(data).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith('.tmp')).map((n) => fs.rm(path.join(data, n), { recursive: true, force: true })));
}

/**
 * One server per index folder: another server's writes would go unseen here (a LanceDB table reads
 * the version it opened), and its temporary files would be taken for orphans. A lock left by a
 * killed server is taken over.
 */
async function lockIndex(dir: string): Promise<() => void> {
  // Made here, with errors as the folder gives them (a folder that cannot be made says so).
  await fs.mkdir(dir, { recursive: true });
  try {
    return await takeLock(path.join(dir, 'server.lock'), `the index folder ${dir}`);
  } catch (e) {
    if (e instanceof LockHeldError) throw indexFolderHeld(e.message);
    throw e;
  }
}

export class LanceDbIndex implements VectorIndex {
  readonly backend = 'lancedb';
  private table: lancedb.Table | undefined;
  /** Writes (upserts, deletes, optimize) one at a time; upserts waiting meanwhile share the next commit. */
  private writing: Promise<unknown> = Promise.resolve();
  private waiting: { batch: PendingUpsert[]; done: Promise<void> } | undefined;
  private sinceOptimize = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private identity: IndexIdentity,
    private readonly db: lancedb.Connection,
    private readonly o: Required<LanceDbOptions>,
    private readonly unlock: () => void,
  ) {}

  /**
   * Opens the index in `dir`, creating nothing until the first upsert. One made by another model
   * opens as that model's (storedIdentity says which): its callers refuse to mix vectors, and can
   * still delete its items and rebind it.
   */
  static async open(dir: string, identity: IndexIdentity, options: LanceDbOptions = {}): Promise<LanceDbIndex> {
    const unlock = await lockIndex(dir);
    let index: LanceDbIndex;
    try {
      const stored = await readIdentity(dir);
      await removeOrphans(dir);
      const db = await lancedb.connect(dir);
      const o = { annThreshold: 10_000, optimizeEveryRows: 1_000, optimizeIntervalMs: 60_000, ef: 64, refineFactor: 4, nprobes: 0, ...options };
      index = new LanceDbIndex(dir, stored ?? identity, db, o, unlock);
      if ((await db.tableNames()).includes(TABLE)) index.table = await db.openTable(TABLE);
    } catch (e) {
      unlock();
      throw e;
    }
    if (index.o.optimizeIntervalMs > 0) {
      index.timer = setInterval(() => void index.optimizeIfDue(1).catch(() => undefined), index.o.optimizeIntervalMs);
      index.timer.unref();
    }
    return index;
  }

  storedIdentity(): Promise<IndexIdentity> {
    return Promise.resolve(this.identity);
  }

  rebind(identity: IndexIdentity): Promise<boolean> {
    return this.serially(async () => {
      if (this.identity.modelFingerprint === identity.modelFingerprint && this.identity.dimension === identity.dimension) return true;
      if (this.table && (await this.table.countRows()) > 0) return false;
      // The empty table goes too: its schema has the old dimension, its ANN index the old model's quantization.
      if (this.table) {
        this.table.close();
        this.table = undefined;
        await this.db.dropTable(TABLE);
      }
      this.identity = identity;
      await writeIdentity(this.dir, identity);
      return true;
    });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writing.then(work, work);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async ensureTable(): Promise<lancedb.Table> {
    if (this.table) return this.table;
    await writeIdentity(this.dir, this.identity);
    const schema = new Schema([
      new Field('id', new Utf8(), false),
      new Field('vector', new FixedSizeList(this.identity.dimension, new Field('item', new Float32(), true)), false),
      new Field('uri', new Utf8(), false),
      // The labels as given (JSON), returned with hits; label_pairs is what filters read.
      new Field('labels', new Utf8(), false),
      new Field('label_pairs', new List(new Field('item', new Utf8(), true)), false),
      new Field('predicted_class', new Utf8(), false),
    ]);
    this.table = await this.db.createEmptyTable(TABLE, schema, { existOk: true });
    return this.table;
  }

  async upsert(items: readonly IndexItem[], madeBy?: IndexIdentity): Promise<void> {
    if (items.length === 0) return;
    // Upserts arriving while a commit runs wait for the next one together: one version, not one per item.
    if (!this.waiting) {
      const batch: PendingUpsert[] = [];
      const done = this.serially(async () => {
        this.waiting = undefined;
        // Checked here, in line with rebind: vectors of the model the index held before a rebind are not written after it.
        for (const p of batch) if (p.madeBy && !sameModel(this.identity, p.madeBy)) p.refused = this.identity;
        const latest = new Map(batch.flatMap((p) => (p.refused ? [] : p.items)).map((it) => [it.id, it]));
        if (latest.size === 0) return;
        const rows = [...latest.values()].map((it) => ({
          id: it.id,
          vector: Array.from(it.vector),
          uri: it.uri,
          labels: JSON.stringify(it.labels),
          label_pairs: labelPairs(it.labels),
          predicted_class: it.predictedClass,
        }));
        const table = await this.ensureTable();
        await table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows);
        this.sinceOptimize += rows.length;
      });
      this.waiting = { batch, done };
    }
    const pending: PendingUpsert = { items, madeBy };
    this.waiting.batch.push(pending);
    await this.waiting.done;
    if (pending.refused) throw reboundError(pending.refused, madeBy!, `the index at ${this.dir}`);
    if (this.sinceOptimize >= this.o.optimizeEveryRows) void this.optimizeIfDue(this.o.optimizeEveryRows).catch(() => undefined);
  }

  async get(ids: readonly string[]): Promise<(IndexItem | undefined)[]> {
    if (!this.table || ids.length === 0) return ids.map(() => undefined);
    const rows = (await this.table.query().where(idClause(ids)).select(['id', 'vector', 'uri', 'labels', 'predicted_class']).toArray()) as Row[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id);
      return r && { id, vector: Float32Array.from(Array.isArray(r.vector) ? r.vector : r.vector.toArray()), uri: r.uri, labels: JSON.parse(r.labels) as Record<string, string>, predictedClass: r.predicted_class };
    });
  }

  async list(after: string, limit: number, filter?: IndexFilter): Promise<ListedItem[]> {
    if (!this.table || limit < 1) return [];
    const clauses = filterClauses(filter);
    if (after !== '') clauses.push(`id > ${sqlString(after)}`);
    // LanceDB has no ORDER BY: the ids after `after` (one column), sorted here, then the page's rows.
    let q = this.table.query().select(['id']);
    if (clauses.length > 0) q = q.where(clauses.join(' AND '));
    const ids = ((await q.toArray()) as { id: string }[]).map((r) => r.id).sort(compareIds).slice(0, limit);
    if (ids.length === 0) return [];
    const rows = (await this.table.query().where(idClause(ids)).select(['id', 'uri', 'labels', 'predicted_class']).toArray()) as Row[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      return r ? [{ id, uri: r.uri, labels: JSON.parse(r.labels) as Record<string, string>, predictedClass: r.predicted_class }] : [];
    });
  }

  delete(ids: readonly string[]): Promise<number> {
    return this.serially(async () => {
      if (!this.table || ids.length === 0) return 0;
      const where = idClause(ids);
      const stored = await this.table.countRows(where);
      if (stored > 0) await this.table.delete(where);
      // Deletions leave versions and deletion files behind too: the next optimize compacts them.
      this.sinceOptimize += stored;
      return stored;
    });
  }

  async search(query: Float32Array, k: number, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (!this.table) return [];
    const clauses = filterClauses(options.filter);
    if (options.excludeIds?.length) clauses.push(idClause(options.excludeIds, true));
    let q = this.table.vectorSearch(Array.from(query)).distanceType('l2').select(['id', 'uri', 'labels', 'predicted_class', '_distance']).limit(k);
    if (clauses.length > 0) q = q.where(clauses.join(' AND '));
    if (await this.hasVectorIndex()) {
      // LanceDB refuses an ef below the candidates it fetches (k x refineFactor): k = 17 failed with ef 64 and refine 4.
      q = q.ef(Math.max(this.o.ef, k * this.o.refineFactor)).refineFactor(this.o.refineFactor);
      if (this.o.nprobes > 0) q = q.nprobes(this.o.nprobes);
    }
    let rows = (await q.toArray()) as Row[];
    // The bound is applied here, to the refined distances: LanceDB's distanceRange judges the HNSW index's
    // 8-bit quantized ones, and dropped true neighbours well inside it (dedup lost pairs at 0.08 < 0.1).
    // Squared on LanceDB's side; inclusive, as the contract's "at most".
    const max = options.maxDistance;
    if (max !== undefined) rows = rows.filter((r) => (r._distance ?? 0) <= max * max * (1 + 1e-6));
    return rows.map((r) => ({ id: r.id, distance: Math.sqrt(Math.max(0, r._distance ?? 0)), uri: r.uri, labels: JSON.parse(r.labels) as Record<string, string>, predictedClass: r.predicted_class }));
  }

  private async hasVectorIndex(): Promise<boolean> {
    return (await this.table!.listIndices()).some((i) => i.name === VECTOR_INDEX);
  }

  async describe(): Promise<IndexDescription> {
    const count = this.table ? await this.table.countRows() : 0;
    const stats = this.table && (await this.hasVectorIndex()) ? await this.table.indexStats(VECTOR_INDEX) : undefined;
    const indexed = stats?.numIndexedRows ?? 0;
    return { ...this.identity, count, metric: 'euclidean', indexed, unindexed: stats ? stats.numUnindexedRows : count, backend: this.backend };
  }

  /** Builds the ANN index once the table is big enough, folds new rows into it, drops old versions. */
  optimize(): Promise<void> {
    return this.serially(async () => {
      const table = this.table;
      if (!table || this.closed) return;
      this.sinceOptimize = 0;
      if (!(await this.hasVectorIndex())) {
        if ((await table.countRows()) >= this.o.annThreshold) {
          await table.createIndex('vector', { name: VECTOR_INDEX, config: lancedb.Index.hnswSq({ distanceType: 'l2', m: 16, efConstruction: 100 }) });
        }
      }
      await table.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) });
    });
  }

  private async optimizeIfDue(rows: number): Promise<void> {
    if (this.sinceOptimize >= rows) await this.optimize();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.writing;
    this.table?.close();
    this.db.close();
    this.unlock();
  }
}

/** The backend's entry point for openVectorIndex. */
export function openLanceIndex(dir: string, identity: IndexIdentity, options?: LanceDbOptions): Promise<VectorIndex> {
  return LanceDbIndex.open(dir, identity, options);
}
