/**
 * The health of alexnet.v1.ImageSearch, which is the health of its index: checked at start (a
 * warning when it cannot be used, so the operator learns it before the first caller does), set
 * NOT_SERVING when the check or a call finds it unusable, and checked again every few seconds
 * until it passes. Checked, not waited for: a client that routes by this service's health would
 * otherwise never send the call that finds it usable again. The server's overall health and
 * /readyz are the model's, never the index's: Classify and Embed do not need it.
 */
import type { Logger } from '../log.js';
import { IndexUnreachableError, IndexUnusableError, probeIndex } from './index-availability.js';
import { displayLocation } from './open-vector-index.js';

const RECHECK_MS = 5_000;

export interface IndexHealth {
  /** Begin: check now, and report each change to `setServing`. */
  start(setServing: (serving: boolean) => void): void;
  /** A call failed: if it is because the index cannot be used, NOT_SERVING until a check passes. */
  failed(e: unknown): void;
  stop(): void;
}

export function indexHealth(location: string, log: Logger, recheckMs = RECHECK_MS): IndexHealth {
  let report: ((serving: boolean) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unusable = false;
  const where = displayLocation(location);

  const recheck = () => {
    if (timer || !report) return;
    timer = setTimeout(() => {
      probeIndex(location).then(
        () => {
          timer = undefined;
          unusable = false;
          log.info('the similarity index can be used again: ImageSearch serving', { index: where });
          report?.(true);
        },
        () => {
          timer = undefined;
          recheck();
        },
      );
    }, recheckMs);
    timer.unref();
  };
  const markUnusable = (e: Error) => {
    if (!unusable) log.warn('the similarity index cannot be used: ImageSearch calls fail until it can (Classify and Embed go on)', { index: where, cause: e.message });
    unusable = true;
    report?.(false);
    recheck();
  };

  return {
    start(setServing) {
      report = setServing;
      probeIndex(location).catch((e: Error) => markUnusable(e));
    },
    failed(e) {
      if (e instanceof IndexUnusableError || e instanceof IndexUnreachableError) markUnusable(e);
    },
    stop() {
      report = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
