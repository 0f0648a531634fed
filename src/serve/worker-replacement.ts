/**
 * Inference workers that end on their own (not closed by the engine): each is said in the log and
 * another is started in its place; a start that fails is logged and tried again, waiting longer
 * each time, until one starts or the engine closes. While no worker runs and none could start,
 * the engine refuses calls (UNAVAILABLE, `refusal`) and the images already queued get the same
 * answer, instead of waiting out their deadlines for workers that are not there. Each change of
 * that state is told (`changed`), so health and readiness (readiness.ts) follow it.
 */
import { UnavailableError } from '../errors.js';
import type { Logger } from './log.js';

/** First wait before starting a worker again after a failed start, doubled each time up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export interface ReplacementHooks {
  /** Start one worker (resolves once it has loaded the model and joined the engine). */
  start(): Promise<void>;
  /** True once the engine is closing: stop trying. */
  closed(): boolean;
  /** Workers running now. */
  running(): number;
  /** The engine's queued images, to be refused once no worker is left. */
  queued(): { reject(e: Error): void }[][];
  log: Logger | undefined;
  /** Told when calls start being refused (true) and when a worker runs again (false). */
  changed?(refusing: boolean): void;
}

export class WorkerReplacer {
  /** Why the last start failed, until one succeeds. */
  private failure: UnavailableError | undefined;
  /** Whether `changed` was last told that calls are refused. */
  private told = false;

  constructor(private readonly hooks: ReplacementHooks) {}

  /** The refusal of a call while no worker runs and none could start; undefined otherwise. */
  get refusal(): UnavailableError | undefined {
    return this.hooks.running() === 0 ? this.failure : undefined;
  }

  /** Tell `changed` if refusing started or ended since it was last told. */
  private tell(): void {
    const refusing = this.refusal !== undefined;
    if (refusing === this.told) return;
    this.told = refusing;
    this.hooks.changed?.(refusing);
  }

  /** The worker of thread `threadId` ended (`cause`): start another in its place. */
  replace(threadId: number, cause: Error): void {
    const h = this.hooks;
    h.log?.error('inference worker ended: starting another in its place', { threadId, cause: cause.message, workersRunning: h.running() });
    // The last worker running ended after another's start had failed: no worker now.
    this.tell();
    const attempt = (waitMs: number): void => {
      if (h.closed()) return;
      h.start().then(
        () => {
          this.failure = undefined;
          h.log?.info('inference worker started in place of one that ended', { workersRunning: h.running() });
          this.tell();
        },
        (e: unknown) => {
          if (h.closed()) return;
          const why = (e as Error)?.message ?? String(e);
          this.failure = new UnavailableError(`no inference worker is running: they ended and could not be started again (${why}); retry later`);
          const refusal = this.refusal;
          if (refusal) for (const queue of h.queued()) for (const job of queue.splice(0)) job.reject(refusal);
          h.log?.error(`inference worker could not be started again: trying again in ${waitMs / 1000} s`, {
            cause: why,
            workersRunning: h.running(),
            ...(refusal ? { effect: 'no worker is running: calls are refused with UNAVAILABLE and health is NOT_SERVING until one starts' } : {}),
          });
          this.tell();
          setTimeout(() => attempt(Math.min(waitMs * 2, MAX_RETRY_MS)), waitMs).unref();
        },
      );
    };
    attempt(FIRST_RETRY_MS);
  }
}
