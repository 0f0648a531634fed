/**
 * The pieces of SQL the pgvector backend builds: the location's parsing, vector literals, and the
 * label filter as parameterized conditions. Values only ever travel as parameters ($n); the one
 * thing written into SQL text is the table name, and only after it passed `tableName`.
 */
import { ConfigError } from '../../errors.js';
import { BadRequestError } from '../status.js';
import type { IndexFilter, IndexItem } from './vector-index.js';

export const DEFAULT_TABLE = 'alexnet_index';

export interface PgLocation {
  /** The connection string handed to `pg`, without our own parameters. */
  connectionString: string;
  table: string;
  /** Pool size; 1 for a server that serves one connection at a time. */
  poolMax?: number;
}

/** `postgres://user:pass@host:port/db[?table=name][&pool_max=n]`: our parameters are taken out, the rest goes to `pg`. */
export function parsePgLocation(location: string): PgLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new ConfigError(`--index ${JSON.stringify(location)} is not a postgres:// URL`);
  }
  const table = tableName(url.searchParams.get('table') ?? DEFAULT_TABLE);
  const max = url.searchParams.get('pool_max');
  url.searchParams.delete('table');
  url.searchParams.delete('pool_max');
  let poolMax: number | undefined;
  if (max !== null) {
    poolMax = Number(max);
    if (!Number.isInteger(poolMax) || poolMax < 1) throw new ConfigError(`pool_max=${max} in --index must be a positive integer`);
  }
  return { connectionString: url.toString(), table, ...(poolMax !== undefined ? { poolMax } : {}) };
}

/** A table name safe to write into SQL unquoted and quoted alike (lower case, so Postgres folds nothing); suffixes keep within 63 bytes. */
export function tableName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(name)) {
    throw new ConfigError(`table=${JSON.stringify(name)} in --index is not a valid name: use lower-case letters, digits and _ (at most 48, not starting with a digit)`);
  }
  return name;
}

/** pgvector's text form of a vector; a Float32 value printed as a double reads back as the same float. */
export function vectorLiteral(v: Float32Array): string {
  return `[${Array.from(v, (x) => String(x)).join(',')}]`;
}

/** pgvector's text form back to numbers. */
export function parseVector(text: string): Float32Array {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  return body === '' ? new Float32Array(0) : Float32Array.from(body.split(','), Number);
}

/** Refuses a vector the table cannot hold, before anything is written. */
export function checkVector(v: unknown, dimension: number, what: string): asserts v is Float32Array {
  if (!(v instanceof Float32Array)) throw new BadRequestError(`${what}: the vector is not a Float32Array`);
  if (v.length !== dimension) throw new BadRequestError(`${what}: the vector has ${v.length} values, the index holds ${dimension}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new BadRequestError(`${what}: value ${i} of the vector is not finite`);
  }
}

/** Every item checked and duplicates folded (the last of an id wins, as if upserted in order): one INSERT may not touch a row twice. */
export function checkItems(items: readonly IndexItem[], dimension: number): IndexItem[] {
  const byId = new Map<string, IndexItem>();
  items.forEach((item, i) => {
    if (typeof item.id !== 'string' || item.id === '') throw new BadRequestError(`item ${i}: the id is empty`);
    checkVector(item.vector, dimension, `item ${i} (${item.id})`);
    for (const [k, v] of Object.entries(item.labels ?? {})) {
      if (typeof v !== 'string') throw new BadRequestError(`item ${i} (${item.id}): label ${JSON.stringify(k)} is not a string`);
    }
    byId.delete(item.id);
    byId.set(item.id, item);
  });
  return [...byId.values()];
}

/**
 * The WHERE conditions of a search: the label filter and the excluded ids, each value a parameter
 * appended to `params` (which already holds the query vector as $1).
 */
export function whereClause(filter: IndexFilter | undefined, excludeIds: readonly string[] | undefined, params: unknown[]): string {
  const conditions: string[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  for (const [key, value] of Object.entries(filter?.equals ?? {})) {
    if (typeof value !== 'string') throw new BadRequestError(`filter: the value of ${JSON.stringify(key)} is not a string`);
    conditions.push(`labels->>${param(key)} = ${param(value)}`);
  }
  for (const [key, values] of Object.entries(filter?.oneOf ?? {})) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw new BadRequestError(`filter: one_of ${JSON.stringify(key)} is not a list of strings`);
    conditions.push(`labels->>${param(key)} = ANY(${param(values)}::text[])`);
  }
  if (excludeIds && excludeIds.length > 0) conditions.push(`NOT (id = ANY(${param(excludeIds)}::text[]))`);
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}
