/**
 * The fc7 index on PostgreSQL + pgvector, shared by any number of servers: one table per index
 * (id, vector, uri, labels, predicted_class) and a one-row `<table>_identity` table naming the model
 * whose vectors it holds. Search is exact until the table reaches `hnswThreshold` rows, then an
 * HNSW index (L2) takes over for every row (Postgres keeps it current on each write).
 */
import pg from 'pg';
import { BadRequestError } from '../status.js';
import { reboundError } from './index-identity.js';
import { checkItems, checkVector, parsePgLocation, parseVector, vectorLiteral, whereClause } from './pgvector-sql.js';
import type { IndexDescription, IndexFilter, IndexIdentity, IndexItem, ListedItem, SearchHit, SearchOptions, VectorIndex } from './vector-index.js';

export interface PgvectorOptions {
  /** Rows from which the HNSW index is built (at open, or after the upsert that passes it). */
  hnswThreshold?: number;
  /** HNSW candidate list per query; raised to k when k is larger. */
  efSearch?: number;
}

export const DEFAULT_HNSW_THRESHOLD = 10_000;
const DEFAULT_EF_SEARCH = 64;
/** Most hits one search returns: a larger k is a scan, not a search. */
export const MAX_K = 1000;
/** Rows per INSERT statement: keeps one message well under the server's limits. */
const INSERT_CHUNK = 500;
/** Every opener of any index takes this lock first, so two replicas never both create the extension or a table. */
const OPEN_LOCK = "hashtext('alexnet vector index open')";

type Row = { id: string; vector: string; uri: string; labels: Record<string, string>; predicted_class: string };

export async function openPgvectorIndex(location: string, identity: IndexIdentity, options: PgvectorOptions = {}): Promise<PgvectorIndex> {
  const { connectionString, table, poolMax } = parsePgLocation(location);
  const pool = new pg.Pool({ connectionString, ...(poolMax !== undefined ? { max: poolMax } : {}) });
  // An idle client's network error arrives here; without a listener it would end the process.
  pool.on('error', () => {});
  try {
    const index = new PgvectorIndex(pool, table, identity, options);
    await index.init();
    return index;
  } catch (e) {
    await pool.end();
    throw e;
  }
}

export class PgvectorIndex implements VectorIndex {
  readonly backend = 'pgvector';
  private readonly ident: string;
  private readonly hnswName: string;
  private readonly hnswThreshold: number;
  private readonly efSearch: number;
  private hnsw = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private identity: IndexIdentity,
    options: PgvectorOptions,
  ) {
    this.ident = `${table}_identity`;
    this.hnswName = `${table}_hnsw`;
    this.hnswThreshold = options.hnswThreshold ?? DEFAULT_HNSW_THRESHOLD;
    this.efSearch = options.efSearch ?? DEFAULT_EF_SEARCH;
    if (!Number.isInteger(identity.dimension) || identity.dimension < 1) throw new BadRequestError(`dimension ${identity.dimension} is not a positive integer`);
  }

  /** Creates what is missing; a table made by another model opens as that model's (storedIdentity says which). */
  async init(): Promise<void> {
    const { modelFingerprint, modelName, dimension } = this.identity;
    this.hnsw = await this.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${OPEN_LOCK})`);
      await c.query('CREATE EXTENSION IF NOT EXISTS vector');
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.ident} (one boolean PRIMARY KEY DEFAULT true CHECK (one), model_fingerprint text NOT NULL, model_name text NOT NULL, dimension integer NOT NULL)`);
      const stored = await this.readIdentity(c);
      if (stored === undefined) await c.query(`INSERT INTO ${this.ident} (model_fingerprint, model_name, dimension) VALUES ($1, $2, $3)`, [modelFingerprint, modelName, dimension]);
      else this.identity = stored;
      await this.createTable(c, this.identity.dimension);
      if (await this.hnswExists(c)) return true;
      if ((await this.count(c)) < this.hnswThreshold) return false;
      await this.buildHnsw(c);
      return true;
    });
  }

  async storedIdentity(): Promise<IndexIdentity> {
    // Another replica may have re-bound the table since: its vectors are then another model's.
    this.identity = (await this.readIdentity(this.pool)) ?? this.identity;
    return this.identity;
  }

  async rebind(identity: IndexIdentity): Promise<boolean> {
    const done = await this.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${OPEN_LOCK})`);
      // No replica inserts between the count and the drop.
      await c.query(`LOCK TABLE ${this.table} IN SHARE ROW EXCLUSIVE MODE`);
      // Another replica serving the same model may have re-bound it (and written) first.
      const stored = await this.readIdentity(c);
      if (stored && stored.modelFingerprint === identity.modelFingerprint && stored.dimension === identity.dimension) return true;
      if ((await this.count(c)) > 0) return false;
      // The empty table goes too: its column has the old dimension, its HNSW index the old model's graph.
      await c.query(`DROP TABLE ${this.table}`);
      await c.query(`UPDATE ${this.ident} SET model_fingerprint = $1, model_name = $2, dimension = $3`, [identity.modelFingerprint, identity.modelName, identity.dimension]);
      await this.createTable(c, identity.dimension);
      return true;
    });
    if (done) {
      this.identity = identity;
      this.hnsw = false;
    }
    return done;
  }

  async describe(): Promise<IndexDescription> {
    const count = await this.count(this.pool);
    // Another replica may have built it since.
    if (!this.hnsw) this.hnsw = await this.hnswExists(this.pool);
    const indexed = this.hnsw ? count : 0;
    return { ...this.identity, count, metric: 'euclidean', indexed, unindexed: count - indexed, backend: this.backend };
  }

  async upsert(items: readonly IndexItem[], madeBy?: IndexIdentity): Promise<void> {
    const expected = madeBy ?? this.identity;
    const rows = checkItems(items, expected.dimension);
    if (rows.length === 0) return;
    const built = await this.transaction(async (c) => {
      // FOR SHARE: a replica's rebind (an UPDATE of this row) waits for this write, or this write for it.
      const stored = await this.readIdentity(c, 'FOR SHARE');
      if (stored && (stored.modelFingerprint !== expected.modelFingerprint || stored.dimension !== expected.dimension)) throw reboundError(stored, expected, `index table ${this.table}`);
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        await c.query(
          `INSERT INTO ${this.table} (id, vector, uri, labels, predicted_class)
           SELECT * FROM unnest($1::text[], $2::text[]::vector[], $3::text[], $4::text[]::jsonb[], $5::text[])
           ON CONFLICT (id) DO UPDATE SET vector = EXCLUDED.vector, uri = EXCLUDED.uri, labels = EXCLUDED.labels, predicted_class = EXCLUDED.predicted_class`,
          [
            chunk.map((r) => r.id),
            chunk.map((r) => vectorLiteral(r.vector)),
            chunk.map((r) => r.uri ?? ''),
            chunk.map((r) => JSON.stringify(r.labels ?? {})),
            chunk.map((r) => r.predictedClass ?? ''),
          ],
        );
      }
      if (!this.hnsw && (await this.count(c)) >= this.hnswThreshold) {
        // Under the open lock: two replicas passing the threshold together build it once.
        await c.query(`SELECT pg_advisory_xact_lock(${OPEN_LOCK})`);
        if (!(await this.hnswExists(c))) await this.buildHnsw(c);
        return true;
      }
      return false;
    });
    if (built) this.hnsw = true;
  }

  async get(ids: readonly string[]): Promise<(IndexItem | undefined)[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<Row>(`SELECT id, vector::text AS vector, uri, labels, predicted_class FROM ${this.table} WHERE id = ANY($1::text[])`, [[...ids]]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => {
      const r = byId.get(id);
      return r && { id: r.id, vector: parseVector(r.vector), uri: r.uri, labels: r.labels, predictedClass: r.predicted_class };
    });
  }

  async list(after: string, limit: number, filter?: IndexFilter): Promise<ListedItem[]> {
    if (limit < 1) return [];
    const params: unknown[] = [];
    const where = whereClause(filter, undefined, params);
    // COLLATE "C": byte order, whatever the database's collation (List's order, LanceDB's too).
    const after_ = after === '' ? '' : `${where ? ' AND' : 'WHERE'} id COLLATE "C" > $${params.push(after)}`;
    const sql = `SELECT id, uri, labels, predicted_class FROM ${this.table} ${where}${after_} ORDER BY id COLLATE "C" LIMIT ${Math.floor(limit)}`;
    const { rows } = await this.pool.query<Omit<Row, 'vector'>>(sql, params);
    return rows.map((r) => ({ id: r.id, uri: r.uri, labels: r.labels, predictedClass: r.predicted_class }));
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.pool.query(`DELETE FROM ${this.table} WHERE id = ANY($1::text[])`, [[...new Set(ids)]]);
    return result.rowCount ?? 0;
  }

  async search(query: Float32Array, k: number, options: SearchOptions = {}): Promise<SearchHit[]> {
    checkVector(query, this.identity.dimension, 'query');
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new BadRequestError(`k must be an integer from 1 to ${MAX_K}, not ${k}`);
    const { maxDistance } = options;
    if (maxDistance !== undefined && !(maxDistance >= 0)) throw new BadRequestError(`max_distance must be at least 0, not ${maxDistance}`);
    const params: unknown[] = [vectorLiteral(query)];
    const where = whereClause(options.filter, options.excludeIds, params);
    const sql = `SELECT id, vector <-> $1::vector AS distance, uri, labels, predicted_class FROM ${this.table} ${where} ORDER BY vector <-> $1::vector LIMIT ${k}`;
    const rows = await this.transaction(async (c) => {
      // Iterative scan: a filtered HNSW query goes on past ef_search candidates until k rows pass.
      await c.query("SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)", [String(Math.max(this.efSearch, k))]);
      return (await c.query<Omit<Row, 'vector'> & { distance: number }>(sql, params)).rows;
    });
    // relaxed_order may return neighbours slightly out of order; maxDistance after LIMIT keeps the same hits as before it and never makes the scan look further.
    return rows
      .map((r) => ({ id: r.id, distance: Number(r.distance), uri: r.uri, labels: r.labels, predictedClass: r.predicted_class }))
      .filter((h) => maxDistance === undefined || h.distance <= maxDistance)
      .sort((a, b) => a.distance - b.distance);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(body: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const result = await body(c);
      await c.query('COMMIT');
      return result;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  private async readIdentity(c: pg.Pool | pg.PoolClient, lock = ''): Promise<IndexIdentity | undefined> {
    const { rows } = await c.query<{ model_fingerprint: string; model_name: string; dimension: number }>(`SELECT model_fingerprint, model_name, dimension FROM ${this.ident} ${lock}`);
    const r = rows[0];
    return r && { modelFingerprint: r.model_fingerprint, modelName: r.model_name, dimension: r.dimension };
  }

  private async createTable(c: pg.PoolClient, dimension: number): Promise<void> {
    await c.query(`CREATE TABLE IF NOT EXISTS ${this.table} (id text PRIMARY KEY, vector vector(${Number(dimension)}) NOT NULL, uri text NOT NULL, labels jsonb NOT NULL, predicted_class text NOT NULL)`);
  }

  private async count(c: pg.Pool | pg.PoolClient): Promise<number> {
    return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`)).rows[0]!.n);
  }

  private async hnswExists(c: pg.Pool | pg.PoolClient): Promise<boolean> {
    return (await c.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [this.hnswName])).rows[0]!.found;
  }

  private async buildHnsw(c: pg.PoolClient): Promise<void> {
    await c.query(`CREATE INDEX IF NOT EXISTS ${this.hnswName} ON ${this.table} USING hnsw (vector vector_l2_ops) WITH (m = 16, ef_construction = 64)`);
  }
}
