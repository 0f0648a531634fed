/**
 * Which classes of a prepared data set have no image in a split. A class with no training image
 * (every file of it unreadable, say) cannot be learned: training on it would waste the run, so
 * `train` refuses it; a class with no validation image is only never measured, so it is said.
 */
import type { DataCache } from './cache-format.js';

export interface ClassCoverage {
  /** Classes with no image in the training split. */
  noTrain: string[];
  /** Classes with no image in the validation split (when there is one). */
  noVal: string[];
}

function missing(classes: readonly string[], labels: Uint16Array | undefined): string[] {
  if (!labels) return [];
  const seen = new Uint8Array(classes.length);
  for (const l of labels) seen[l] = 1;
  return classes.filter((_, c) => seen[c] === 0);
}

export function classCoverage(cache: DataCache): ClassCoverage {
  const { classes } = cache.meta;
  return { noTrain: missing(classes, cache.splits.train?.labels), noVal: missing(classes, cache.splits.val?.labels) };
}

/** "a, b, c (7 in all)" for a message. */
export function nameSome(names: readonly string[], most = 5): string {
  return names.slice(0, most).join(', ') + (names.length > most ? ` (${names.length} in all)` : '');
}
