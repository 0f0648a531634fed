/**
 * Where the served model comes from: one file pair (`--model FILE`), or a repository
 * (`--model-dir DIR`: DIR/<name>/<version>/, model-repository.ts) with its version policy. Opening
 * the source gives the version to serve now; a reload opens it again. The watcher (optional)
 * asks for a reload when the repository's model directory (or the file's directory) changes,
 * once things have been quiet for a moment.
 */
import { lstatSync, realpathSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { modelName, openModel, singleCropPath, type ModelFiles } from '../model/model-files.js';
import { chooseVersion, INDEX_DIR_SUFFIX, resolveModelName, type VersionPolicy } from '../model/model-repository.js';

export interface ModelSource {
  /** What the source names now, opened (ModelFileError, ConfigError if it is not there or not right). */
  open(): Promise<ModelFiles>;
  /** The directory watched for new versions. */
  readonly watchDir: string;
  /** Where the index lives by default: beside the model file, or beside the repository's model directory (never taken for a model: model-repository.ts). */
  readonly defaultIndex: string;
  describe(): string;
}

export function fileSource(file: string): ModelSource {
  const single = singleCropPath(file);
  return {
    open: () => openModel(single),
    watchDir: path.dirname(path.resolve(single)),
    defaultIndex: path.join(path.dirname(single), `${modelName(single)}.index`),
    describe: () => single,
  };
}

export async function repositorySource(dir: string, name: string | undefined, policy: VersionPolicy): Promise<ModelSource> {
  const root = path.resolve(dir);
  const resolved = await resolveModelName(root, name);
  return {
    open: async () => {
      const v = await chooseVersion(root, resolved, policy);
      return openModel(v.file, { name: resolved, version: String(v.version) });
    },
    watchDir: path.join(root, resolved),
    defaultIndex: path.join(root, `${resolved}${INDEX_DIR_SUFFIX}`),
    describe: () => `${path.join(root, resolved)} (${policy.kind === 'latest' ? 'latest version' : `version ${policy.version}`})`,
  };
}

/**
 * Call `onChange` once the source's directory has been quiet for `quietMs` after a change; returns
 * the stop function. The directory itself may be replaced (renamed over by a deploy, a fresh
 * checkout): a watch on its parent sees its name change and moves the watch to the new one, which
 * is itself a change. Or it may be a link whose target is swapped (a Kubernetes volume's entries
 * link through `..data`, which the kubelet points at a new directory, then removes the old): a
 * watch follows the link once, when it is made, so any event on the parent, in the watched
 * directory or beside a link higher on the path (a deploy's `current`) checks where the link
 * leads now and moves the watch there. A watch that is lost is
 * said in `warn`, never silently.
 */
export function watchSource(source: ModelSource, onChange: () => void, quietMs = 500, warn: (msg: string, fields: Record<string, unknown>) => void = () => {}): () => void {
  const dir = source.watchDir;
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, quietMs);
  };
  let inner: FSWatcher | undefined;
  /** Where `dir` led when the watch was made (links followed). */
  let watched: string | undefined;
  const whereNow = () => {
    try {
      return realpathSync(dir);
    } catch {
      return undefined;
    }
  };
  /** The watch moved if `dir` leads elsewhere now; true if it did. */
  const follow = () => {
    if (whereNow() === watched) return false;
    arm();
    return true;
  };
  const arm = () => {
    inner?.close();
    inner = undefined;
    watched = whereNow();
    try {
      const w = watch(dir, { persistent: false }, () => {
        follow();
        changed();
      });
      // Deleted or unmounted: this watch ends; the parent's sees a new directory of the name.
      w.on('error', (e) => {
        w.close();
        if (inner === w) inner = undefined;
        warn('model directory watch lost: waiting for it to come back', { dir, problem: e.message });
      });
      inner = w;
    } catch (e) {
      warn('model directory not watched: waiting for it to come back', { dir, problem: (e as Error).message });
    }
  };
  arm();
  let outer: FSWatcher | undefined;
  try {
    outer = watch(path.dirname(dir), { persistent: false }, (_event, name) => {
      if (name !== null && name.toString() !== path.basename(dir)) {
        // Another entry: a link on the way to the directory (`..data`) may have been swapped.
        if (follow()) changed();
        return;
      }
      arm();
      changed();
    });
    outer.on('error', (e) => {
      outer?.close();
      warn('the watch on the model directory\'s parent was lost: a replaced model directory is not followed', { dir: path.dirname(dir), problem: e.message });
    });
  } catch (e) {
    warn('the model directory\'s parent is not watched: a replaced model directory is not followed', { dir: path.dirname(dir), problem: (e as Error).message });
  }
  // A link higher on the path (a deploy's `current` pointing at a release) is swapped in its own parent.
  const linkWatches: FSWatcher[] = [];
  for (const parent of linkParents(dir)) {
    try {
      const w = watch(parent, { persistent: false }, () => {
        if (follow()) changed();
      });
      w.on('error', (e) => {
        w.close();
        warn('the watch on a link to the model directory was lost: a swapped link is not followed', { dir: parent, problem: e.message });
      });
      linkWatches.push(w);
    } catch (e) {
      warn('a link to the model directory is not watched: a swapped link is not followed', { dir: parent, problem: (e as Error).message });
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    inner?.close();
    outer?.close();
    for (const w of linkWatches) w.close();
  };
}

/** The directories holding a link of `dir`'s path (its own parent apart: watched anyway). */
function linkParents(dir: string): string[] {
  const parents = new Set<string>();
  for (let p = dir; path.dirname(p) !== p; p = path.dirname(p)) {
    try {
      if (lstatSync(p).isSymbolicLink()) parents.add(path.dirname(p));
    } catch {
      // Not there (yet): nothing to follow.
    }
  }
  parents.delete(path.dirname(dir));
  return [...parents];
}

/** `--model FILE` or `--model-dir DIR` (with its name and version policy): exactly one of them. */
export async function modelSourceOf(o: { model?: string | undefined; modelDir?: string | undefined; modelName?: string | undefined; modelVersion?: VersionPolicy | undefined }): Promise<ModelSource> {
  if (o.model && o.modelDir) throw new ConfigError('give either a model file (--model) or a model directory (--model-dir), not both');
  if (o.modelDir) return repositorySource(o.modelDir, o.modelName, o.modelVersion ?? { kind: 'latest' });
  if (!o.model) throw new ConfigError('no model to serve: give --model FILE or --model-dir DIR');
  if (o.modelName || o.modelVersion) throw new ConfigError('--model-name and --model-version choose within a model directory: use them with --model-dir');
  return fileSource(o.model);
}
