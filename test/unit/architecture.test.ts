/**
 * The house rules, read from the sources themselves: which part may import which, no import
 * circle, files of at most 300 lines, no pointer outside the repository. The import graph is
 * built here from the `import ... from` and `import(...)` lines of src/*.ts.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const files = sources();
const rel = (f: string) => path.relative(SRC, f).split(path.sep).join('/');
const text = new Map(files.map((f) => [rel(f), readFileSync(f, 'utf8')]));

/** Every module a file imports (static, dynamic, type-only): package names as written, project files as paths relative to src/. */
function importsOf(file: string): { modules: string[]; local: string[] } {
  const src = text.get(file)!;
  const specs = [...src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1]!);
  const local = specs.filter((s) => s.startsWith('.')).map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, '.ts'));
  return { modules: specs.filter((s) => !s.startsWith('.')), local };
}

test('the import graph was read: every local import names a file that exists', (t) => {
  let edges = 0;
  for (const f of text.keys()) {
    for (const to of importsOf(f).local) {
      edges++;
      t.true(text.has(to), `${f} imports ${to}, which is not in src/`);
    }
  }
  t.true(edges > 50, `only ${edges} imports found: the parser missed them`);
});

test('serve/ imports neither export/ nor tfjs; train/ imports neither gRPC nor onnxruntime', (t) => {
  const broken: string[] = [];
  for (const f of text.keys()) {
    const { modules, local } = importsOf(f);
    if (f.startsWith('serve/')) {
      for (const m of modules) if (m.startsWith('@tensorflow/')) broken.push(`${f} imports ${m}`);
      for (const l of local) if (l.startsWith('export/') || l.startsWith('train/')) broken.push(`${f} imports ${l}`);
    }
    if (f.startsWith('train/')) {
      for (const m of modules) if (m.startsWith('@grpc/') || m.startsWith('grpc-') || m === 'onnxruntime-node') broken.push(`${f} imports ${m}`);
      for (const l of local) if (l.startsWith('serve/') || l.startsWith('export/')) broken.push(`${f} imports ${l}`);
    }
  }
  t.deepEqual(broken, []);
});

test('no import circle among the modules of src/', (t) => {
  const graph = new Map([...text.keys()].map((f) => [f, importsOf(f).local.filter((l) => text.has(l))]));
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      circles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const to of graph.get(f)!) visit(to, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  t.deepEqual(circles, []);
});

test('files of at most 300 lines; nothing points outside the repository', (t) => {
  for (const [f, src] of text) {
    const lines = src.split('\n').length - (src.endsWith('\n') ? 1 : 0);
    t.true(lines <= 300, `src/${f} has ${lines} lines`);
    t.false(/\.\.\/shared\/|shared\/docs/.test(src), `src/${f} points outside the repository`);
  }
});
