/**
 * Where the served model comes from: one file pair (`--model FILE`), or a repository
 * (`--model-dir DIR`: DIR/<name>/<version>/, model-repository.ts) with its version policy. Opening
 * the source gives the version to serve now; a reload opens it again. The watcher (optional)
 * asks for a reload when the repository's model directory (or the file's directory) changes,
 * once things have been quiet for a moment.
 */
import { watch, type FSWatcher } from 'node:fs';
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

/** Call `onChange` once `dir` has been quiet for `quietMs` after a change; returns the stop function. */
export function watchSource(source: ModelSource, onChange: () => void, quietMs = 500): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(source.watchDir, { persistent: false }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, quietMs);
  });
  // A watched directory that goes away (deleted, unmounted) stops the watching, not the server.
  watcher.on('error', () => watcher.close());
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}

/** `--model FILE` or `--model-dir DIR` (with its name and version policy): exactly one of them. */
export async function modelSourceOf(o: { model?: string | undefined; modelDir?: string | undefined; modelName?: string | undefined; modelVersion?: VersionPolicy | undefined }): Promise<ModelSource> {
  if (o.model && o.modelDir) throw new ConfigError('give either a model file (--model) or a model directory (--model-dir), not both');
  if (o.modelDir) return repositorySource(o.modelDir, o.modelName, o.modelVersion ?? { kind: 'latest' });
  if (!o.model) throw new ConfigError('no model to serve: give --model FILE or --model-dir DIR');
  if (o.modelName || o.modelVersion) throw new ConfigError('--model-name and --model-version choose within a model directory: use them with --model-dir');
  return fileSource(o.model);
}
