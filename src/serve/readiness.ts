/**
 * Whether the server takes calls, one answer for everything that tells a prober or a load
 * balancer: grpc.health.v1 (the server's '' and each service's name: Check, and each change sent
 * to every Watch once), KServe's ServerReady, ModelReady and RepositoryIndex, and /readyz.
 *
 * Ready: admitted (the model loaded and warm, not draining) and an inference worker running or
 * able to start. While no worker runs and none could start again (worker-replacement.ts) every
 * inference call is refused UNAVAILABLE, so probes must say so, or traffic keeps coming to a
 * server that refuses it; SERVING again once a worker starts (or a reload swaps in a version
 * whose workers run). A service with a health of its own (ImageSearch: its index) is SERVING only
 * while both are. From shutdown on, NOT_SERVING for good.
 */
import type { UnavailableError } from '../errors.js';
import type { Admission } from './admission.js';
import { HealthService, type HealthStatus } from './health-service.js';

export class Readiness {
  /** grpc.health.v1 over the names given at construction. */
  readonly health: HealthService;
  /** The status each name's watchers were last sent. */
  private readonly told = new Map<string, HealthStatus>();
  /** A service's own health, where it reports one (false: not serving, whatever the model does). */
  private readonly own = new Map<string, boolean>();
  private stopped = false;

  /** `refusal`: why the serving version's engine refuses calls now (no worker), or undefined. */
  constructor(
    private readonly names: readonly string[],
    private readonly admission: Admission,
    private readonly refusal: () => UnavailableError | undefined,
  ) {
    this.health = new HealthService(names, 'NOT_SERVING');
    for (const name of names) this.told.set(name, 'NOT_SERVING');
  }

  /** Calls are taken now: the model warm, not draining, a worker running or able to start. */
  get ready(): boolean {
    return !this.stopped && this.admission.accepting && !this.refusal();
  }

  /** A service's own health from now on (combined with the server's). */
  setOwn(name: string, serving: boolean): void {
    this.own.set(name, serving);
    this.update();
  }

  /** Shutdown began: every name NOT_SERVING, for good. */
  stop(): void {
    this.stopped = true;
    this.update();
  }

  /** Something readiness reads changed (admission, the engine's workers, the version serving): tell the watchers of each name whose status changed. */
  update(): void {
    const ready = this.ready;
    for (const name of this.names) {
      const status: HealthStatus = ready && this.own.get(name) !== false ? 'SERVING' : 'NOT_SERVING';
      if (this.told.get(name) === status) continue;
      this.told.set(name, status);
      this.health.setStatus(name, status);
    }
  }
}
