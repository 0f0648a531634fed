/**
 * The deployment files read as their tools read them (not a test file): the Dockerfile through
 * dockerfile-ast, deploy/*.yaml through `yaml`, each kustomization's resources and its RFC 6902
 * patches applied to the base objects, and the flags `alexnet serve --help` lists.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { CLI } from './serve-fixtures.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY = path.join(ROOT, 'deploy');

// Kubernetes objects are checked field by field; `any` keeps the assertions readable.
export type K8sObject = Record<string, any>;

/** One stage of the Dockerfile: its FROM and the instructions up to the next FROM. */
export interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}

export function dockerfileStages(file = path.join(ROOT, 'Dockerfile')): Stage[] {
  const d = DockerfileParser.parse(readFileSync(file, 'utf8'));
  const stages: Stage[] = [];
  for (const i of d.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      const from = d.getFROMs().find((f) => f.getRange().start.line === i.getRange().start.line)!;
      stages.push({ image: from.getImage() ?? '', name: from.getBuildStage(), instructions: [] });
    } else stages.at(-1)?.instructions.push(i);
  }
  return stages;
}

/** An exec-form (JSON) instruction's strings, e.g. CMD ["serve", "--port", "50051"]. */
export function jsonStrings(i: Instruction): string[] {
  const json = (i as Instruction & { getJSONStrings?: () => { getJSONValue(): string }[] }).getJSONStrings?.() ?? [];
  return json.map((s) => s.getJSONValue());
}

/** Every document of a YAML file (comments dropped), failing on a syntax error. */
export function yamlObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

export interface Kustomization {
  dir: string;
  /** Every object its resources give, its patches applied (a directory resource is built as a kustomization itself). */
  objects: K8sObject[];
  /** Resources that name nothing that exists. */
  missing: string[];
  /** Patches whose target matched no object. */
  unmatched: string[];
  /** Directory resources kustomize refuses: a folder that holds a kustomization being built (an overlay inside its base). */
  cycles: string[];
}

/**
 * A kustomization built the way `kubectl apply -k` would for what it uses here: resources, then
 * RFC 6902 patches on their targets. As kustomize, a directory resource that contains a
 * kustomization already being built (`../` from an overlay inside its base) is a cycle, refused.
 */
export function buildKustomization(dir: string, building: string[] = []): Kustomization {
  const [k] = yamlObjects(path.join(dir, 'kustomization.yaml'));
  const objects: K8sObject[] = [];
  const missing: string[] = [];
  const unmatched: string[] = [];
  const cycles: string[] = [];
  const roots = [...building, path.resolve(dir)];
  for (const r of (k!.resources ?? []) as string[]) {
    const p = path.resolve(dir, r);
    if (!existsSync(p)) missing.push(r);
    else if (statSync(p).isDirectory()) {
      const inside = roots.filter((root) => root === p || root.startsWith(p + path.sep));
      if (inside.length > 0) {
        cycles.push(`${path.relative(ROOT, dir)}: ${r} contains ${inside.map((i) => path.relative(ROOT, i)).join(', ')}`);
        continue;
      }
      const inner = buildKustomization(p, roots);
      objects.push(...inner.objects);
      missing.push(...inner.missing.map((m) => path.join(r, m)));
      unmatched.push(...inner.unmatched);
      cycles.push(...inner.cycles);
    } else objects.push(...yamlObjects(p));
  }
  for (const patch of (k!.patches ?? []) as { path: string; target: { kind: string; name: string } }[]) {
    const ops = yamlObjects(path.join(dir, patch.path))[0] as JsonPatchOp[];
    const targets = objects.filter((o) => o.kind === patch.target.kind && o.metadata?.name === patch.target.name);
    if (targets.length === 0) unmatched.push(`${patch.path} -> ${patch.target.kind}/${patch.target.name}`);
    for (const o of targets) objects.splice(objects.indexOf(o), 1, applyJsonPatch(o, ops));
  }
  return { dir, objects, missing, unmatched, cycles };
}

export interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** RFC 6902 add, replace and remove on a copy; a path that does not exist is an error, as kustomize makes it one. */
export function applyJsonPatch(doc: K8sObject, ops: JsonPatchOp[]): K8sObject {
  const out = structuredClone(doc);
  for (const { op, path: p, value } of ops) {
    const keys = p.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let parent: K8sObject = out;
    for (const key of keys) {
      parent = parent[key];
      if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`patch ${op} ${p}: ${key} does not exist`);
    }
    if (Array.isArray(parent)) {
      const at = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(at) || at < 0 || at > parent.length || (op !== 'add' && at >= parent.length)) throw new Error(`patch ${op} ${p}: no index ${last}`);
      if (op === 'add') parent.splice(at, 0, structuredClone(value));
      else if (op === 'replace') parent[at] = structuredClone(value);
      else parent.splice(at, 1);
    } else {
      if (op !== 'add' && !(last in parent)) throw new Error(`patch ${op} ${p}: ${last} does not exist`);
      if (op === 'remove') delete parent[last];
      else parent[last] = structuredClone(value);
    }
  }
  return out;
}

/** The kustomize of this machine, as a command (`kubectl kustomize` or `kustomize build`), or undefined where neither is installed. */
export function kustomizeCommand(): string[] | undefined {
  const candidates = [
    { build: ['kubectl', 'kustomize'], version: ['kubectl', 'version', '--client'] },
    { build: ['kustomize', 'build'], version: ['kustomize', 'version'] },
  ];
  for (const { build, version } of candidates) {
    if (spawnSync(version[0]!, version.slice(1), { stdio: 'ignore' }).status === 0) return build;
  }
  return undefined;
}

/** What the real kustomize builds from `dir`: its objects, or its error. */
export async function kustomizeBuild(command: string[], dir: string): Promise<{ objects?: K8sObject[]; error?: string }> {
  try {
    const { stdout } = await promisify(execFile)(command[0]!, [...command.slice(1), dir], { maxBuffer: 16 << 20 });
    return { objects: parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject) };
  } catch (e) {
    return { error: String((e as { stderr?: string }).stderr || (e as Error).message).trim() };
  }
}

/** This machine's Debian release (`bookworm`), or undefined elsewhere: its package database describes the image's base of that release. */
export function debianRelease(): string | undefined {
  try {
    return /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The Debian package that installs program `name` in a bin folder (dpkg's own answer here), or undefined. */
export function debianPackageOf(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const r = spawnSync('dpkg-query', ['-S', `${dir}/${name}`], { encoding: 'utf8' });
    const owner = r.status === 0 ? /^([a-z0-9][a-z0-9.+-]*)(?::[a-z0-9]+)?: \//m.exec(r.stdout)?.[1] : undefined;
    if (owner) return owner;
  }
  return undefined;
}

/** A package's priority in the archive (`required` ones make up debian:<release>-slim). */
export function debianPriority(pkg: string): string | undefined {
  return /^Priority: (\S+)$/m.exec(spawnSync('apt-cache', ['show', pkg], { encoding: 'utf8' }).stdout ?? '')?.[1];
}

/** The long flags `alexnet serve --help` lists (the built CLI, run). */
export async function serveFlags(): Promise<Set<string>> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'serve', '--help']);
  return new Set([...stdout.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

/** The flags of an argument list (`--flag value` or `--flag=value`). */
export const flagsOf = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);

/** The value after `--flag` (or of `--flag=value`) in an argument list. */
export function flagValue(args: string[], flag: string): string | undefined {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(flag.length + 1) : args[i + 1];
}
