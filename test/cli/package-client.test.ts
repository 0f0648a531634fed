/**
 * The package as another project installs it: the files `npm pack` puts in it (npm's own list)
 * copied into a consumer's node_modules/alexnet, the consumer's TypeScript app importing the
 * clients and message types by the paths the README gives, checked by the TypeScript compiler in
 * strict mode, then run against a real server. Oracles: npm, tsc and Node's resolver (none of them
 * ours), and onnxruntime run offline on the image.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { byIndex, maxDiff, png, serveForTests } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const run = promisify(execFile);

const APP = `import { readFileSync } from 'node:fs';
import { AlexNetClient, type CallOptions } from 'alexnet/client';
import { SearchClient } from 'alexnet/search-client';
import type { ClassifyResponse__Output } from 'alexnet/generated/alexnet/v1/ClassifyResponse';
import type { EmbedRequest } from 'alexnet/generated/alexnet/v1/EmbedRequest';

const [address, file] = process.argv.slice(2) as [string, string];
const image = readFileSync(file);
const opts: CallOptions = { timeoutMs: 30_000 };
const client = new AlexNetClient(address);
const search = new SearchClient(address);
const classified: ClassifyResponse__Output = await client.classify({ image, top_k: 10 }, opts);
const request: EmbedRequest = { image, normalize: false };
const embedded = await client.embed({ ...request, image }, opts);
const described = await search.describe(opts);
console.log(JSON.stringify({ classes: classified.classes, fc7: embedded.embedding!.vector, dimension: described.dimension, proto: import.meta.resolve('alexnet/proto/alexnet/v1/alexnet.proto') }));
client.close();
search.close();
`;

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: false },
  include: ['app.ts'],
};

/** A consumer project: the packed files as node_modules/alexnet, the repository's other packages beside it (its dependencies, typescript, @types/node). */
async function consumer(): Promise<string> {
  const dir = await tempDir('package-client');
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  const pkg = path.join(dir, 'node_modules/alexnet');
  for (const f of files) {
    await fs.mkdir(path.dirname(path.join(pkg, f)), { recursive: true });
    await fs.copyFile(path.join(ROOT, f), path.join(pkg, f));
  }
  for (const entry of await fs.readdir(path.join(ROOT, 'node_modules'))) {
    if (entry === 'alexnet' || entry.startsWith('.')) continue;
    await fs.symlink(path.join(ROOT, 'node_modules', entry), path.join(dir, 'node_modules', entry));
  }
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module', private: true }));
  await fs.writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
  await fs.writeFile(path.join(dir, 'app.ts'), APP);
  return dir;
}

// The index in a folder of this test's own, not beside the shipped model.
const index = path.join(os.tmpdir(), `alexnet-package-client-index-${process.pid}`);
test.after.always(() => fs.rm(index, { recursive: true, force: true }));
const served = serveForTests({ index });

test('an app that installs the package type-checks against its clients and message types, and classifies and embeds with them', async (t) => {
  const dir = await consumer();
  const tscErrors = await run(process.execPath, [TSC, '-p', dir], { cwd: dir }).then(
    () => '',
    (e: { stdout?: string; message: string }) => e.stdout || e.message,
  );
  t.is(tscErrors, '', 'tsc type-checks the app');
  if (tscErrors !== '') return;
  const image = await png(5);
  await fs.writeFile(path.join(dir, 'image.png'), image);
  const { stdout } = await run(process.execPath, [path.join(dir, 'out/app.js'), served.server.address, path.join(dir, 'image.png')], { cwd: dir });
  const out = JSON.parse(stdout) as { classes: { index: number; probability: number }[]; fc7: number[]; dimension: number; proto: string };
  const oracle = await served.offline(image);
  t.true(maxDiff(byIndex(out.classes, served.meta.labels.length), oracle.p) < 1e-5);
  t.true(maxDiff(out.fc7, oracle.fc7) < 1e-4);
  t.is(fileURLToPath(out.proto), path.join(dir, 'node_modules/alexnet/proto/alexnet/v1/alexnet.proto'));
});
