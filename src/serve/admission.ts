/**
 * Which calls the server takes: none while the model loads or once shutdown began (UNAVAILABLE),
 * and a count of those in flight, so shutdown can wait for them.
 */
import { UnavailableError } from '../errors.js';
import { reportFailure, type Caller } from './call-log.js';
import type { Logger } from './log.js';
import type { MappedStatus } from './status.js';

export class Admission {
  private ready = false;
  private draining = false;
  private count = 0;
  private idle: (() => void) | undefined;

  /** Calls accepted and not yet answered. */
  get inFlight(): number {
    return this.count;
  }

  /** The model is loaded and warm and shutdown has not begun: what readiness reports (KServe's ServerReady). */
  get accepting(): boolean {
    return this.ready && !this.draining;
  }

  /** The model has been loaded (still true while draining): there is a version to describe. */
  get opened(): boolean {
    return this.ready;
  }

  /** The model is loaded and warm: take calls. */
  open(): void {
    this.ready = true;
  }

  /** Count a call in, or refuse it (UnavailableError). */
  enter(): void {
    if (this.draining) throw new UnavailableError('the server is shutting down');
    if (!this.ready) throw new UnavailableError('the model is still loading');
    this.count++;
  }

  leave(): void {
    this.count--;
    if (this.count === 0) this.idle?.();
  }

  /** Refuse new calls from now on; resolves when the calls in flight are done, or after graceMs. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    if (this.count === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Count the call in, or log its refusal and return the status to answer it with. */
  admit(log: Logger, method: string, started: number, caller: Caller): MappedStatus | undefined {
    try {
      this.enter();
      return undefined;
    } catch (e) {
      return reportFailure(log, method, e, started, caller);
    }
  }
}
