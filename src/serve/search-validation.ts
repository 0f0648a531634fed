/**
 * What ImageSearch accepts, checked before anything is stored or searched: each refusal is a
 * BadRequestError (INVALID_ARGUMENT) whose message says what to send instead.
 */
import type { Filter__Output } from './generated/alexnet/v1/Filter.js';
import type { IndexFilter } from './index/vector-index.js';
import { BadRequestError } from './status.js';

export const SEARCH_LIMITS = {
  /** Longest id, in characters. */
  idLength: 256,
  /** Most hits one query may ask for. */
  k: 1000,
  /** Most queries in one SearchBatch. */
  batch: 256,
  /** Most ids in one Get or Delete, and most items in one List page. */
  ids: 1000,
  /** Items in a List page when page_size is 0. */
  pageSize: 100,
  /** Longest uri, and the most labels an item holds, with their longest key and value, in characters: what every hit carries back. */
  uriLength: 2048,
  labels: 32,
  labelKeyLength: 128,
  labelValueLength: 512,
  /** Most values a filter's one_of lists, all keys together (its keys: at most `labels`, as an item's). */
  oneOfValues: 1000,
} as const;

/** A NUL character: PostgreSQL refuses it in text and jsonb, so no backend is given one. */
function refuseNul(value: string, what: string): void {
  if (value.includes('\0')) throw new BadRequestError(`${what} holds a NUL character (\\0), which an index cannot store: remove it`);
}

export function checkId(id: string | undefined, what = 'id'): string {
  if (id) refuseNul(id, what);
  if (!id) throw new BadRequestError(`${what} is empty: give each item an id of 1 to ${SEARCH_LIMITS.idLength} characters (e.g. a hash of the file)`);
  if (id.length > SEARCH_LIMITS.idLength) throw new BadRequestError(`${what} has ${id.length} characters, more than ${SEARCH_LIMITS.idLength}: use a shorter id (e.g. a hash of the file)`);
  return id;
}

export function checkIds(ids: string[]): string[] {
  if (ids.length === 0) throw new BadRequestError('ids is empty: name at least one id');
  if (ids.length > SEARCH_LIMITS.ids) throw new BadRequestError(`${ids.length} ids in one call, more than ${SEARCH_LIMITS.ids}: split them into several calls`);
  return ids.map((id) => checkId(id));
}

export function checkVector(values: number[] | undefined, dimension: number): Float32Array {
  const v = values ?? [];
  if (v.length !== dimension) throw new BadRequestError(`the vector has ${v.length} values; the served model's fc7 vectors have ${dimension} (Embed returns them)`);
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new BadRequestError(`the vector's value ${bad} is ${v[bad]}: every value must be a finite number`);
  return Float32Array.from(v);
}

export function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > SEARCH_LIMITS.k) throw new BadRequestError(`k is ${k}: ask for 1 to ${SEARCH_LIMITS.k} hits`);
  return k;
}

export function checkMaxDistance(d: number): number | undefined {
  if (!Number.isFinite(d) || d < 0) throw new BadRequestError(`max_distance is ${d}: give a finite distance of 0 or more (0: no limit)`);
  return d > 0 ? d : undefined;
}

/** Labels checked and put in Unicode NFC (a folder name from macOS is NFD, the same text typed is NFC: both must match). */
export function checkLabels(labels: Record<string, string>, what = 'labels'): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.some(([key]) => key === '')) throw new BadRequestError(`${what} has an empty key: every label needs a name`);
  if (entries.length > SEARCH_LIMITS.labels) throw new BadRequestError(`${what} has ${entries.length} keys, more than ${SEARCH_LIMITS.labels}`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    checkLabel(key, value, what);
    out[key.normalize('NFC')] = value.normalize('NFC');
  }
  return out;
}

/** One label (or a filter's key and one of its values) within the limits of an item's. */
function checkLabel(key: string, value: string, what: string): void {
  if (key.length > SEARCH_LIMITS.labelKeyLength) throw new BadRequestError(`${what} key ${JSON.stringify(key.slice(0, 40))}... is ${key.length} characters, more than ${SEARCH_LIMITS.labelKeyLength}`);
  refuseNul(key, `${what} key ${JSON.stringify(key)}`);
  refuseNul(value, `${what}[${JSON.stringify(key)}]`);
  if (value.length > SEARCH_LIMITS.labelValueLength) throw new BadRequestError(`${what}[${JSON.stringify(key)}] is ${value.length} characters, more than ${SEARCH_LIMITS.labelValueLength}`);
}

export function checkUri(uri: string | undefined): string {
  refuseNul(uri ?? '', 'uri');
  if ((uri ?? '').length > SEARCH_LIMITS.uriLength) throw new BadRequestError(`uri is ${uri!.length} characters, more than ${SEARCH_LIMITS.uriLength}: store a shorter reference to the image`);
  return uri ?? '';
}

export function toIndexFilter(f: Filter__Output | null | undefined): IndexFilter | undefined {
  if (!f) return undefined;
  const equals = checkLabels(f.equals ?? {}, 'filter.equals');
  const oneOf: Record<string, string[]> = {};
  // Bounded as an item's labels are: the index's filter grows with them (LanceDB crashed the process at 1,000 keys).
  const lists = Object.entries(f.one_of ?? {});
  if (lists.length > SEARCH_LIMITS.labels) throw new BadRequestError(`filter.one_of has ${lists.length} keys, more than ${SEARCH_LIMITS.labels} (an item holds at most ${SEARCH_LIMITS.labels} labels)`);
  const values = lists.reduce((n, [, list]) => n + (list.values?.length ?? 0), 0);
  if (values > SEARCH_LIMITS.oneOfValues) throw new BadRequestError(`filter.one_of lists ${values} values, more than ${SEARCH_LIMITS.oneOfValues}: split the search, or label the items so that fewer values select them`);
  for (const [key, list] of lists) {
    if (key === '') throw new BadRequestError('filter.one_of has an empty key: every label needs a name');
    if (!list.values?.length) throw new BadRequestError(`filter.one_of[${JSON.stringify(key.slice(0, 40))}] is an empty list, which nothing matches: give at least one value or leave the key out`);
    for (const v of list.values) checkLabel(key, v, 'filter.one_of');
    oneOf[key.normalize('NFC')] = list.values.map((v) => v.normalize('NFC'));
  }
  return { equals, oneOf };
}

/** List's page size: 0 means the default, above the most is the most (AIP-158). */
export function pageSize(n: number): number {
  return n === 0 ? SEARCH_LIMITS.pageSize : Math.min(n, SEARCH_LIMITS.ids);
}

/** A List page token: the last id of the page before, base64url (opaque to clients). */
export function pageToken(lastId: string): string {
  return Buffer.from(lastId).toString('base64url');
}

/** The id a page token names ('' for none), or INVALID_ARGUMENT for a token this server never gave. */
export function idAfter(token: string): string {
  if (token === '') return '';
  const id = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString() : '';
  if (id === '' || pageToken(id) !== token || id.length > SEARCH_LIMITS.idLength || id.includes('\0')) {
    throw new BadRequestError('page_token is not one a List answer gave: pass the next_page_token of the page before, or none for the first page');
  }
  return id;
}

export function checkBatch(n: number): void {
  if (n === 0) throw new BadRequestError('queries is empty: send at least one query');
  if (n > SEARCH_LIMITS.batch) throw new BadRequestError(`${n} queries in one SearchBatch, more than ${SEARCH_LIMITS.batch}: split them into several calls`);
}
