/**
 * What a service module hands the server: its proto service, its handlers wrapped by the
 * adapters, and its package definition for reflection. A new service is a new module exporting
 * a `ServiceFactory`, and one line in server.ts's list.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import type { ModelFiles } from '../model/model-files.js';
import type { Admission } from './admission.js';
import type { Logger } from './log.js';
import type { ServerMetrics } from './metrics.js';
import type { ReloadOutcome, Served } from './model-host.js';

/** What the adapters need: who is admitted, where the call lines go. */
export interface AdapterEnv {
  admission: Admission;
  log: Logger;
}

/** What a service is built from: the adapters' needs, the served model and how it is served. */
export interface ServingEnv extends AdapterEnv {
  /** The version serving now (a reload replaces it: read it per call, never keep it). */
  readonly model: ModelFiles;
  /**
   * Calls are taken now (readiness.ts): the model warm, not draining, and an inference worker
   * running or able to start. Admitted but not ready: no worker runs and none could start.
   */
  readonly ready: boolean;
  provider: string;
  maxBatch: number;
  maxDelayMs: number;
  maxPixels: number;
  /** Most images waiting (--max-queue): a request of more could never be taken. */
  maxQueue: number;
  /** The Prometheus metrics, when served (--metrics-port). */
  metrics?: ServerMetrics;
  /** Where the similarity index lives: a directory (LanceDB) or a postgres:// URL. */
  index: string;
  /**
   * Run one call's work on the version serving now, held until `f` ends: what the call answers
   * comes from one version, even if a reload swaps versions meanwhile. Handlers run only after
   * admission opens, so a version is there by then.
   */
  withModel<T>(f: (served: Served) => Promise<T>): Promise<T>;
  /** Open the model's source again and serve what it names once warm (model-host.ts); absent: no reload. */
  reload?(reason: string): Promise<ReloadOutcome>;
}

export interface ServiceDescriptor {
  /** The fully qualified service name, as health checks and reflection know it (e.g. alexnet.v1.AlexNet). */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  packageDefinition: protoLoader.PackageDefinition;
  /**
   * Once serving: the service may report its own health from then on (the index's, for
   * ImageSearch), apart from the server's, which stays the model's.
   */
  start?(setServing: (serving: boolean) => void): void;
  /** Release what the service holds (an open index), after the last call. */
  close?(): Promise<void>;
}

export type ServiceFactory = (env: ServingEnv) => ServiceDescriptor;
