/**
 * Labels as LanceDB can filter them: each pair stored as one string of a list column (the JSON of
 * `[key, value]`, so no separator can be forged by a key or value), and the structured filter
 * turned into a SQL `where` of `array_has` / `array_has_any` over string literals, never pasted raw.
 */
import type { IndexFilter } from './vector-index.js';

/** A SQL string literal: single quotes doubled (DataFusion reads backslashes literally). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** One label pair as stored in the `label_pairs` column. */
export function labelPair(key: string, value: string): string {
  return JSON.stringify([key, value]);
}

export function labelPairs(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => labelPair(k, v));
}

/** The `where` clauses of a filter (to be joined with AND); none for an empty filter. */
export function filterClauses(filter: IndexFilter | undefined): string[] {
  const clauses: string[] = [];
  for (const [k, v] of Object.entries(filter?.equals ?? {})) clauses.push(`array_has(label_pairs, ${sqlString(labelPair(k, v))})`);
  for (const [k, values] of Object.entries(filter?.oneOf ?? {})) {
    clauses.push(`array_has_any(label_pairs, make_array(${values.map((v) => sqlString(labelPair(k, v))).join(', ')}))`);
  }
  return clauses;
}

/** `id IN (...)` / `id NOT IN (...)` over quoted ids. */
export function idClause(ids: readonly string[], not = false): string {
  return `id ${not ? 'NOT IN' : 'IN'} (${ids.map(sqlString).join(', ')})`;
}
