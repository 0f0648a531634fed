/**
 * The model being served, and its replacement without downtime.
 *
 * A call takes the current version when it starts (`acquire`) and gives it back when it is
 * answered (`release`): everything it answers (labels, the version it names, the vectors) comes
 * from that one version. A reload opens the new files, starts a fresh engine (its own workers,
 * each loading both models), warms it with one batch per crop mode, and only then makes it the
 * current version in one assignment; calls that started on the old version finish there, and the
 * old engine is closed once the last of them has released it. A version that fails to open,
 * load or warm is reported and dropped; the old version keeps serving and later reloads work.
 * Reloads run one at a time (a second request waits for the first). Each one's end is told to
 * `ended` with the version serving then (metrics count them by result; health follows a swap).
 */
import type { ModelFiles } from '../model/model-files.js';
import type { InferenceEngine } from './engine.js';
import type { Logger } from './log.js';

export interface Served {
  readonly model: ModelFiles;
  readonly engine: InferenceEngine;
}

interface Slot extends Served {
  refs: number;
  retired: boolean;
}

export type ReloadOutcome =
  | { status: 'loaded'; from: string; to: string }
  | { status: 'unchanged'; version: string }
  | { status: 'failed'; version: string; error: string };

/** Open the files of the version to serve next (ModelFileError, ConfigError when they are not there or not right). */
export type ModelOpener = () => Promise<ModelFiles>;
/** Start an engine for `model` and warm it; rejects if either fails. */
export type EngineStarter = (model: ModelFiles) => Promise<InferenceEngine>;
/** A reload ended in `outcome`; `serving`: the version serving now (the new one once loaded, else the one kept). */
export type ReloadListener = (outcome: ReloadOutcome, serving: Served) => void;

export class ModelHost {
  private slot: Slot;
  private reloading: Promise<ReloadOutcome> = Promise.resolve({ status: 'unchanged', version: '' });
  private readonly closing = new Set<Promise<void>>();
  /** Versions loaded since start (the first not counted), and failed attempts. */
  readonly reloads = { loaded: 0, failed: 0 };

  constructor(
    initial: Served,
    private readonly startEngine: EngineStarter,
    private readonly log: Logger,
    private readonly ended?: ReloadListener,
  ) {
    this.slot = { ...initial, refs: 0, retired: false };
  }

  /** The version serving now (for descriptions: GetModelInfo, metrics, logs). */
  get current(): Served {
    return this.slot;
  }

  /** The current version, held until `release`: a reload does not close it under the call. */
  acquire(): Served {
    this.slot.refs++;
    return this.slot;
  }

  release(served: Served): void {
    const s = served as Slot;
    s.refs--;
    if (s.retired && s.refs === 0) this.retire(s);
  }

  /** Run `f` on the current version, released however `f` ends. */
  async with<T>(f: (served: Served) => Promise<T>): Promise<T> {
    const s = this.acquire();
    try {
      return await f(s);
    } finally {
      this.release(s);
    }
  }

  /** Serve what `open` names instead, once it is loaded and warm; nothing changes if it fails. */
  reload(open: ModelOpener, reason: string): Promise<ReloadOutcome> {
    const next = this.reloading.then(async () => {
      const outcome = await this.swap(open, reason);
      this.ended?.(outcome, this.slot);
      return outcome;
    });
    this.reloading = next;
    return next;
  }

  private async swap(open: ModelOpener, reason: string): Promise<ReloadOutcome> {
    const from = this.slot.model;
    let model: ModelFiles | undefined;
    try {
      model = await open();
      if (model.name === from.name && model.version === from.version && model.fingerprint === from.fingerprint) {
        this.log.info('reload: already serving this version', { reason, model: model.name, version: model.version });
        return { status: 'unchanged', version: model.version };
      }
      this.log.info('reload: loading', { reason, model: model.name, from: from.version, to: model.version, file: model.singleCropPath });
      const started = performance.now();
      const engine = await this.startEngine(model);
      const old = this.slot;
      this.slot = { model, engine, refs: 0, retired: false };
      old.retired = true;
      if (old.refs === 0) this.retire(old);
      this.reloads.loaded++;
      this.log.info('reload: serving', { model: model.name, version: model.version, previous: from.version, loadMs: Math.round(performance.now() - started), draining: old.refs });
      return { status: 'loaded', from: from.version, to: model.version };
    } catch (e) {
      this.reloads.failed++;
      const error = e instanceof Error ? e.message : String(e);
      this.log.error('reload failed: the previous version keeps serving', { reason, model: from.name, version: model?.version ?? '?', serving: from.version, cause: error });
      return { status: 'failed', version: model?.version ?? '?', error };
    }
  }

  private stopping = false;

  private retire(s: Slot): void {
    // At shutdown the serving version is retired too: that is no reload.
    const closing = s.engine.close().then(
      () => this.log.info(this.stopping ? 'model closed' : 'reload: previous version closed', { model: s.model.name, version: s.model.version }),
      (e: unknown) => this.log.warn('reload: closing the previous version failed', { version: s.model.version, cause: String(e) }),
    );
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  /** Wait for a reload in progress, then close every engine (the current one included). */
  async close(): Promise<void> {
    await this.reloading;
    this.stopping = true;
    this.slot.retired = true;
    await Promise.all([this.slot.engine.close(), ...this.closing]);
  }
}
