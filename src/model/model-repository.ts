/**
 * A model repository: `DIR/<name>/<version>/model.onnx` and its `model.tencrop.onnx` sibling,
 * the layout Triton and TF Serving use. A version is a directory named by a positive integer;
 * the version policy picks the highest one (`latest`) or a pinned one.
 *
 * A version is complete when its directory has that name: anything else (`.3.partial`,
 * `incoming`, `3.tmp`) is not looked at. Publish a version by copying it into a directory of
 * another name beside the others and renaming it to its number: a rename is atomic, so neither a
 * reload nor the watcher ever sees half a version (Triton's users hit half-copied files picked
 * up by polling). A version whose files are there but do not load (corrupt, wrong shape) is
 * reported by the loader and never replaces the one serving.
 *
 * A directory named `<name>.index` is not a model: it is where the server keeps the model's
 * similarity index by default (model-source.ts), inside the repository, so a repository whose
 * index exists still restarts with its one model found.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

export type VersionPolicy = { kind: 'latest' } | { kind: 'pinned'; version: number };

export interface RepositoryVersion {
  name: string;
  version: number;
  /** The single-crop file of this version (the ten-crop file sits beside it). */
  file: string;
}

const VERSION_DIR = /^[1-9][0-9]{0,15}$/;
/** The suffix of the index directories a server keeps beside its models (never a model name). */
export const INDEX_DIR_SUFFIX = '.index';

/** `latest`, or a version number: what `--model-version` takes. */
export function parseVersionPolicy(text: string): VersionPolicy {
  if (text === 'latest') return { kind: 'latest' };
  if (VERSION_DIR.test(text)) return { kind: 'pinned', version: Number(text) };
  throw new ConfigError(`model version '${text}' is neither 'latest' nor a positive whole number`);
}

async function readDir(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`model directory ${dir} does not exist`);
    if (code === 'ENOTDIR') throw new ConfigError(`${dir} is a file, not a model directory (serve a single file with --model)`);
    throw e;
  }
}

/** The folder mkfs puts at the root of an ext2/3/4 file system: a volume mounted as the repository (a PersistentVolumeClaim) has it. */
const FILE_SYSTEM_DIR = 'lost+found';

/**
 * The entries of `dir` that are directories, a link to one included: a Kubernetes volume's
 * entries are links into its `..data` directory, and a version may be a link to an export
 * elsewhere. A dangling link is no directory.
 */
async function subdirectories(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const e of await readDir(dir)) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await fs.stat(path.join(dir, e.name)).then((s) => s.isDirectory(), () => false)))) names.push(e.name);
  }
  return names;
}

/** The model names in the repository: its subdirectories not starting with a dot, nor ending in `.index` (an index), nor the file system's lost+found. */
export async function modelNames(dir: string): Promise<string[]> {
  return (await subdirectories(dir)).filter((n) => !n.startsWith('.') && !n.endsWith(INDEX_DIR_SUFFIX) && n !== FILE_SYSTEM_DIR).sort();
}

/** Which model of the repository to serve: the one named, or the only one there. */
export async function resolveModelName(dir: string, name?: string): Promise<string> {
  const names = await modelNames(dir);
  if (name !== undefined) {
    if (name.endsWith(INDEX_DIR_SUFFIX)) throw new ConfigError(`'${name}' names a similarity index, not a model: a model's name may not end in '${INDEX_DIR_SUFFIX}'`);
    if (!names.includes(name)) throw new ConfigError(`model directory ${dir} has no model '${name}' (it has: ${names.join(', ') || 'none'})`);
    return name;
  }
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new ConfigError(`model directory ${dir} holds no model: put versions in ${dir}/<name>/<version>/model.onnx`);
  throw new ConfigError(`model directory ${dir} holds several models (${names.join(', ')}): choose one with --model-name`);
}

/** The complete versions of one model, lowest first. */
export async function listVersions(dir: string, name: string): Promise<RepositoryVersion[]> {
  const modelDir = path.join(dir, name);
  const versions: RepositoryVersion[] = [];
  for (const n of await subdirectories(modelDir)) {
    if (VERSION_DIR.test(n)) versions.push({ name, version: Number(n), file: path.join(modelDir, n, 'model.onnx') });
  }
  return versions.sort((a, b) => a.version - b.version);
}

/** The version the policy picks now. */
export async function chooseVersion(dir: string, name: string, policy: VersionPolicy): Promise<RepositoryVersion> {
  const versions = await listVersions(dir, name);
  if (policy.kind === 'pinned') {
    const v = versions.find((x) => x.version === policy.version);
    if (!v) throw new ConfigError(`model ${name} has no version ${policy.version} in ${dir} (it has: ${versions.map((x) => x.version).join(', ') || 'none'})`);
    return v;
  }
  const latest = versions.at(-1);
  if (!latest) throw new ConfigError(`model ${name} in ${dir} has no version yet: publish one as ${path.join(dir, name, '1', 'model.onnx')} (copy, then rename the directory)`);
  return latest;
}
