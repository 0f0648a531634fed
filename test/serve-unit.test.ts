/**
 * Unit tier of the server (no model file, seconds): the worker layout, the generated message
 * types' freshness.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveParallelism } from '../src/serve/batching-defaults.js';
import { LOADER_OPTIONS } from '../src/serve/proto.js';
import { tempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('worker layout: what the user gives is kept, and on cpu the workers never use more threads than the cores', (t) => {
  for (let cores = 1; cores <= 64; cores++) {
    const given = [undefined, 1, 2, 3, 4, 8];
    for (const workers of given) {
      for (const threads of given) {
        const l = resolveParallelism('cpu', workers, threads, cores);
        t.true(l.workers >= 1 && l.threads >= 1);
        if (workers !== undefined) t.is(l.workers, workers);
        if (threads !== undefined) t.is(l.threads, threads);
        // Only an explicit request for more than the cores may oversubscribe them.
        const asked = (workers ?? 1) * (threads ?? 1);
        if (asked <= cores) t.true(l.workers * l.threads <= cores, `cores ${cores}, workers ${workers}, threads ${threads}: ${l.workers} x ${l.threads}`);
      }
    }
  }
  t.deepEqual(resolveParallelism('cuda', undefined, undefined, 16), { workers: 1, threads: 1 });
});

/** Every file under `dir`, relative, sorted. */
async function files(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

test('the checked-in message types are what proto:types generates now, with the loader options used at run time', async (t) => {
  const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const args = pkg.scripts['proto:types']!.split(/\s+/);
  t.is(args[0], 'proto-loader-gen-types');
  // The generator's flags say what LOADER_OPTIONS says.
  const flag = (name: string) => args.includes(`--${name}`);
  const value = (name: string) => args[args.indexOf(`--${name}`) + 1];
  t.is(flag('keepCase'), LOADER_OPTIONS.keepCase === true);
  t.is(value('longs'), (LOADER_OPTIONS.longs as { name: string }).name);
  t.is(value('enums'), (LOADER_OPTIONS.enums as { name: string }).name);
  t.is(flag('defaults'), LOADER_OPTIONS.defaults === true);
  t.is(flag('oneofs'), LOADER_OPTIONS.oneofs === true);
  const outAt = args.indexOf('-O') + 1;
  const checkedIn = path.join(ROOT, args[outAt]!);
  const fresh = await tempDir('proto-types');
  const regenerate = [...args.slice(1, outAt), fresh, ...args.slice(outAt + 1)];
  await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/proto-loader-gen-types'), regenerate, { cwd: ROOT });
  const names = await files(fresh);
  t.true(names.length > 5, names.join(', '));
  t.deepEqual(await files(checkedIn), names, 'the same files (run npm run proto:types)');
  for (const name of names) {
    const [want, have] = await Promise.all([fs.readFile(path.join(fresh, name), 'utf8'), fs.readFile(path.join(checkedIn, name), 'utf8')]);
    t.is(have, want, `${name} differs from the .proto (run npm run proto:types)`);
  }
});
