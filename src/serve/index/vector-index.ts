/**
 * The similarity index of fc7 vectors (paper §6.1: images are similar when the Euclidean distance
 * between their fc7 vectors is small), as the search service sees it. One interface, a backend per
 * file (lancedb-index.ts: embedded, the default; pgvector-index.ts: PostgreSQL shared by several
 * servers), chosen by `openVectorIndex` from the location's form.
 *
 * Distances are Euclidean, NOT squared, whatever a backend computes inside.
 */

/** What one stored item is. */
export interface IndexItem {
  id: string;
  /** The fc7 vector (the ten-crop mean, as Embed returns it, not normalized). */
  vector: Float32Array;
  uri: string;
  /** Free metadata, filterable by equality. */
  labels: Record<string, string>;
  /** The served model's top-1 class for the image ('' for an item upserted as a vector). */
  predictedClass: string;
}

/** A stored item as List gives it: everything but the vector. */
export type ListedItem = Omit<IndexItem, 'vector'>;

/** Ids in byte order (of their UTF-8), as the databases compare them: List's order. */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A structured filter on `labels` (never a raw query string): every `equals` pair must hold, and for every `oneOf` key the label must be one of the values. */
export interface IndexFilter {
  equals?: Record<string, string>;
  oneOf?: Record<string, string[]>;
}

export interface SearchOptions {
  filter?: IndexFilter;
  /** Only hits at most this far (Euclidean). */
  maxDistance?: number;
  /** Ids never returned (a query by a stored item's id excludes itself this way). */
  excludeIds?: string[];
}

export interface SearchHit {
  id: string;
  /** Euclidean distance to the query (not squared). */
  distance: number;
  uri: string;
  labels: Record<string, string>;
  predictedClass: string;
}

/** Which model made an index's vectors: an index answers only for the model that made it. */
export interface IndexIdentity {
  /** ModelFiles.fingerprint: the first 12 hex digits of the checkpoint's SHA-256. */
  modelFingerprint: string;
  modelName: string;
  dimension: number;
}

export interface IndexDescription extends IndexIdentity {
  count: number;
  metric: 'euclidean';
  /** Items an approximate index covers, and those searched exactly until the next optimize. */
  indexed: number;
  unindexed: number;
  backend: string;
}

export interface VectorIndex {
  readonly backend: string;
  /** The model whose vectors it holds (the one it was opened for, when new); read per call, as another server may re-bind a shared index. */
  storedIdentity(): Promise<IndexIdentity>;
  /**
   * Bind the index to another model, only while it holds no item (dropping what the last one
   * built: table, ANN index); false, and nothing changed, when it holds items. The answer to a
   * reload to another checkpoint: delete the items, index the images again.
   */
  rebind(identity: IndexIdentity): Promise<boolean>;
  describe(): Promise<IndexDescription>;
  /**
   * Insert or replace (by id) every item, all or none. `madeBy`: the model that computed the
   * vectors; if the index holds another model's when the write happens (re-bound since the caller
   * checked: a reload, another server), nothing is written (FailedPreconditionError).
   */
  upsert(items: readonly IndexItem[], madeBy?: IndexIdentity): Promise<void>;
  /** The items of these ids, in order; undefined where an id is not stored. */
  get(ids: readonly string[]): Promise<(IndexItem | undefined)[]>;
  /** Up to `limit` items (vectors left out) whose id comes after `after` in byte order, in that order; with `filter`, only those it matches. */
  list(after: string, limit: number, filter?: IndexFilter): Promise<ListedItem[]>;
  /** Remove these ids; returns how many were stored. */
  delete(ids: readonly string[]): Promise<number>;
  /** The k nearest items, nearest first (exact below the backend's approximate-index threshold). */
  search(query: Float32Array, k: number, options?: SearchOptions): Promise<SearchHit[]>;
  close(): Promise<void>;
}
