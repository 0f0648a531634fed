/**
 * Lifecycle tier: model versions replaced while the server answers. `alexnet serve --model-dir`
 * as a child process, versions published by copy-then-rename and picked up on SIGHUP (or by the
 * watcher), a closed loop of calls running throughout.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../../src/serve/client.js';
import { SearchClient } from '../../src/serve/search-client.js';
import type { ClassifyResponse__Output } from '../../src/serve/generated/alexnet/v1/ClassifyResponse.js';
import { startServer } from '../../src/serve/server.js';
import { readModelMetadata } from '../../src/model/onnx-metadata.js';
import { kserveClientConstructor } from '../../src/serve/proto.js';
import { makeExports, publish, type Exports } from '../reload-fixtures.js';
import { byIndex, CLI, loadOracle, maxDiff, png, quiet } from '../serve-fixtures.js';
import { logWatcher, startServerProcess } from '../server-process.js';
import { tempDir } from '../temp-dir.js';

let exportsDir: Exports;
test.before(async () => {
  exportsDir = await makeExports(await tempDir('reload-exports'));
});

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

test('20 swaps under a closed loop of calls: no call fails, every answer is what the version it names computes, broken versions never serve, memory flat', async (t) => {
  const repo = await tempDir('reload-repo');
  const image = await png(7);
  // What each good export answers for the image, computed here by onnxruntime.
  const expected = new Map<string, { labels: string[]; p: Float32Array }>();
  for (const dir of [exportsDir.a, exportsDir.b]) {
    const o = await loadOracle(path.join(dir, 'model.onnx'));
    expected.set(dir, { labels: o.meta.labels, p: (await o.offline(image)).p });
  }
  t.true(maxDiff(expected.get(exportsDir.a)!.p, expected.get(exportsDir.b)!.p) > 1e-4, 'the two versions answer differently');

  const sourceOf = new Map<string, string>([['1', exportsDir.a]]);
  await publish(repo, 'tiny', 1, exportsDir.a);
  const server = await startServerProcess(['--model-dir', repo, '--device', 'cpu', '--workers', '1', '--threads', '1', '--metrics-port', '0']);
  const log = server.log;
  const metricsPort = log.lines.find((l) => l.msg === 'serving')!.metricsPort as number;
  const client = new AlexNetClient(server.address);
  const answers: ClassifyResponse__Output[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      await client.classify({ image, top_k: 3 }).then(
        (r) => answers.push(r),
        (e: { code?: number; details?: string }) => failures.push(`${e.code}: ${e.details}`),
      );
    }
  };
  const loops = [loop(), loop(), loop()];
  const answeredBy = (v: string) => answers.filter((a) => a.model!.version === v).length;
  const until = async (f: () => boolean) => {
    while (!f()) await new Promise((r) => setTimeout(r, 20));
  };

  let rssAfterWarm = 0;
  let version = 1;
  let swaps = 0;
  let refused = 0;
  while (swaps < 20) {
    version++;
    if (swaps % 5 === 4 && refused < 4) {
      // A broken version, published and asked for: it is refused and the one serving stays.
      await publish(repo, 'tiny', version, refused % 2 === 0 ? exportsDir.corrupt : exportsDir.wrongShape);
      const failed = log.waitFor((l) => l.msg === 'reload failed: the previous version keeps serving');
      server.child.kill('SIGHUP');
      await failed;
      refused++;
      continue;
    }
    const from = swaps % 2 === 0 ? exportsDir.b : exportsDir.a;
    await publish(repo, 'tiny', version, from);
    sourceOf.set(String(version), from);
    const loaded = log.waitFor((l) => l.msg === 'reload: serving' && l.version === String(version));
    server.child.kill('SIGHUP');
    await loaded;
    swaps++;
    // Calls reach the new version before the next swap.
    await until(() => answeredBy(String(version)) >= 3);
    if (swaps === 10) rssAfterWarm = rssKiB(server.child.pid!);
  }
  const rssAfterAll = rssKiB(server.child.pid!);
  // Each SIGHUP's reload counted by what it did: the swaps and the refusals this test made.
  const { scrape, total } = await import('../prometheus-text.js');
  const m = await scrape(metricsPort);
  const reloads = ['loaded', 'unchanged', 'failed'].map((result) => total(m, 'alexnet_model_reloads_total', { result }));
  running = false;
  await Promise.all(loops);
  client.close();
  server.child.kill('SIGTERM');
  const exit = await server.done;

  t.deepEqual(failures, [], 'no call failed');
  t.is(refused, 4);
  t.deepEqual(reloads, [swaps, 0, refused], 'alexnet_model_reloads_total by result: loaded, unchanged, failed');
  const versions = new Set(answers.map((a) => a.model!.version));
  t.is(versions.size, 21, 'the first version and each of the 20 swapped in answered');
  for (const a of answers) {
    const from = sourceOf.get(a.model!.version);
    if (!from) return t.fail(`version ${a.model!.version} answered but is not a good one`);
    const want = expected.get(from)!;
    t.deepEqual(a.classes.map((c) => c.label).sort(), [...want.labels].sort());
    const got = byIndex(a.classes, 3);
    if (maxDiff(got, want.p) > 1e-5) return t.fail(`version ${a.model!.version}'s answer is not what its files compute`);
  }
  // Each swap closes the previous version's workers: no growth with the number of swaps.
  t.log(`RSS after 10 swaps ${(rssAfterWarm / 1024).toFixed(1)} MiB, after 20 ${(rssAfterAll / 1024).toFixed(1)} MiB; ${answers.length} calls`);
  t.true(rssAfterAll - rssAfterWarm < 64 * 1024, `RSS grew ${((rssAfterAll - rssAfterWarm) / 1024).toFixed(1)} MiB over the last 10 swaps`);
  t.is(exit.code, 0, exit.stderr.slice(-2000));
});

test('SIGHUP while the model loads does not end the server: the version published meanwhile is served once it is up', async (t) => {
  const repo = await tempDir('reload-hup-loading');
  await publish(repo, 'tiny', 1, exportsDir.a);
  // Version 1's file is a pipe: the server's first read of it waits for this test to write it, so the signal surely comes while it loads.
  const file = path.join(repo, 'tiny', '1', 'model.onnx');
  const bytes = await fs.readFile(file);
  await fs.rm(file);
  execFileSync('mkfifo', [file]);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--model-dir', repo, '--device', 'cpu', '--workers', '1', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = logWatcher(child.stderr!);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const orExit = <T>(p: Promise<T>) => Promise.race([p, done.then((e) => Promise.reject(new Error(`the server exited (${e.code ?? e.signal}): ${stderr.slice(-2000)}`)))]);
  // Open for writing: returns once the server has opened it for reading.
  const pipe = await fs.open(file, 'w');
  await publish(repo, 'tiny', 2, exportsDir.b);
  child.kill('SIGHUP');
  // The workers open the file by its name later: a plain file takes the pipe's place, then the pipe gets the bytes.
  await fs.writeFile(`${file}.tmp`, bytes);
  await fs.rename(`${file}.tmp`, file);
  await pipe.writeFile(bytes).catch(() => undefined);
  await pipe.close().catch(() => undefined);
  try {
    const serving = await orExit(log.waitFor((l) => l.msg === 'serving'));
    t.is(serving.version, '1');
    await orExit(log.waitFor((l) => l.msg === 'reload: serving' && l.version === '2'));
    const client = new AlexNetClient(serving.address as string);
    const info = await client.modelInfo();
    client.close();
    t.is(info.model!.version, '2');
    t.deepEqual(info.labels, ['b0', 'b1', 'b2']);
  } finally {
    child.kill('SIGTERM');
  }
  t.is((await done).code, 0, stderr.slice(-2000));
});

test('--watch-models: a version published by rename is served without a signal; a pinned version stays; a refused reload leaves later reloads working', async (t) => {
  const repo = await tempDir('reload-watch');
  await publish(repo, 'tiny', 1, exportsDir.a);
  const watched = await startServer({ modelDir: repo, watchModels: true, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const pinned = await startServer({ modelDir: repo, modelVersion: { kind: 'pinned', version: 1 }, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const client = new AlexNetClient(watched.address);
  try {
    t.is((await client.modelInfo()).model!.version, '1');
    await publish(repo, 'tiny', 2, exportsDir.b);
    for (let i = 0; i < 200 && (await client.modelInfo()).model!.version !== '2'; i++) await new Promise((r) => setTimeout(r, 50));
    const info = await client.modelInfo();
    t.is(info.model!.version, '2');
    t.deepEqual(info.labels, ['b0', 'b1', 'b2']);
    t.is((await pinned.reload('test')).status, 'unchanged');
    t.is(pinned.info.model!.version, '1');
    // A broken latest version: refused, the good one stays; then a good one is taken.
    await publish(repo, 'tiny', 3, exportsDir.wrongShape);
    const refused = await watched.reload('test');
    t.is(refused.status, 'failed');
    t.is(watched.info.model!.version, '2');
    await publish(repo, 'tiny', 4, exportsDir.a);
    t.like(await watched.reload('test'), { status: 'loaded', to: '4' });
    const r = await client.classify({ image: await png(3), top_k: 3 });
    t.is(r.model!.version, '4');
    t.deepEqual(r.classes.map((c) => c.label).sort(), ['a0', 'a1', 'a2']);
  } finally {
    client.close();
    await Promise.all([watched.shutdown(), pinned.shutdown()]);
  }
});

test('--watch-models follows a model directory replaced by a rename: its versions and those published into it later are served', async (t) => {
  const repo = await tempDir('reload-watch-replaced');
  await publish(repo, 'tiny', 1, exportsDir.a);
  const watched = await startServer({ modelDir: repo, watchModels: true, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const client = new AlexNetClient(watched.address);
  const served = async (version: string) => {
    for (let i = 0; i < 200 && (await client.modelInfo()).model!.version !== version; i++) await new Promise((r) => setTimeout(r, 50));
    return (await client.modelInfo()).model!.version;
  };
  try {
    // A deploy that builds the whole model directory beside the old one and renames it into place.
    await publish(repo, '.tiny.new', 5, exportsDir.b);
    await fs.rename(path.join(repo, 'tiny'), path.join(repo, '.tiny.old'));
    await fs.rename(path.join(repo, '.tiny.new'), path.join(repo, 'tiny'));
    t.is(await served('5'), '5');
    // The watch is on the new directory now: a version published into it is taken too.
    await publish(repo, 'tiny', 6, exportsDir.a);
    t.is(await served('6'), '6');
    // And one published into the old, renamed-away directory is not.
    await publish(repo, '.tiny.old', 9, exportsDir.b);
    await new Promise((r) => setTimeout(r, 1500));
    t.is((await client.modelInfo()).model!.version, '6');
  } finally {
    client.close();
    await watched.shutdown();
  }
});

test('--watch-models follows links swapped under it: a Kubernetes volume (..data pointed at a new directory, the old one removed) and a deploy\'s current link pointed at a new release (the old one kept)', async (t) => {
  // The kubelet's atomic writer: files in a new directory, ..data renamed over to point at it, the old directory removed.
  const volume = await tempDir('reload-k8s-volume');
  const writeVolume = async (n: number, from: string) => {
    await publish(path.join(volume, `..v${n}`), 'tiny', n, from);
    await fs.symlink(`..v${n}`, path.join(volume, '..data_tmp'));
    await fs.rename(path.join(volume, '..data_tmp'), path.join(volume, '..data'));
    await fs.rm(path.join(volume, `..v${n - 1}`), { recursive: true, force: true });
  };
  await writeVolume(1, exportsDir.a);
  await fs.symlink(path.join('..data', 'tiny'), path.join(volume, 'tiny'));
  // A deploy tool's releases: base/current pointing at the release served, old releases kept.
  const base = await tempDir('reload-releases');
  const release = async (n: number) => {
    for (let v = 1; v <= n; v++) await publish(path.join(base, 'releases', String(n)), 'tiny', v, v % 2 === 1 ? exportsDir.a : exportsDir.b);
    await fs.symlink(path.join('releases', String(n)), path.join(base, 'current.tmp'));
    await fs.rename(path.join(base, 'current.tmp'), path.join(base, 'current'));
  };
  await release(1);
  const options = { watchModels: true, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet } as const;
  const servers = [await startServer({ modelDir: volume, ...options }), await startServer({ modelDir: path.join(base, 'current'), ...options })];
  const [onVolume, onReleases] = servers.map((s) => new AlexNetClient(s.address)) as [AlexNetClient, AlexNetClient];
  const served = async (client: AlexNetClient, version: string) => {
    for (let i = 0; i < 200 && (await client.modelInfo()).model!.version !== version; i++) await new Promise((r) => setTimeout(r, 50));
    return (await client.modelInfo()).model!.version;
  };
  try {
    t.is((await onVolume.modelInfo()).model!.version, '1');
    for (const n of [2, 3, 4]) {
      await writeVolume(n, n % 2 === 1 ? exportsDir.a : exportsDir.b);
      t.is(await served(onVolume, String(n)), String(n), `the volume's swap to version ${n} is served`);
    }
    t.deepEqual((await onVolume.modelInfo()).labels, ['b0', 'b1', 'b2']);
    t.is((await onReleases.modelInfo()).model!.version, '1');
    for (const n of [2, 3]) {
      await release(n);
      t.is(await served(onReleases, String(n)), String(n), `release ${n} is served`);
    }
  } finally {
    onVolume.close();
    onReleases.close();
    await Promise.all(servers.map((s) => s.shutdown()));
  }
});

test('a call in flight across a reload is counted in the metrics under the version that answered it', async (t) => {
  const { scrape, total } = await import('../prometheus-text.js');
  const repo = await tempDir('reload-metrics');
  await publish(repo, 'tiny', 1, exportsDir.a);
  // A lone image waits up to 3 s for others to fill its batch: the reload happens meanwhile.
  const server = await startServer({ modelDir: repo, port: 0, metricsPort: 0, device: 'cpu', workers: 1, threads: 1, maxBatch: 4, maxDelayMs: 3000, logger: quiet });
  const client = new AlexNetClient(server.address);
  try {
    const call = client.classify({ image: await png(3), top_k: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await publish(repo, 'tiny', 2, exportsDir.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    const answer = await call;
    t.is(answer.model!.version, '1', 'the call was answered by the version it was queued on');
    const m = await scrape(server.metricsPort!);
    const classify = (version: string) => total(m, 'alexnet_grpc_server_handled_total', { grpc_method: 'Classify', version });
    t.deepEqual([classify('1'), classify('2')], [1, 0]);
  } finally {
    client.close();
    await server.shutdown();
  }
});

test('alexnet_model_reloads_total counts each reload by result (loaded, unchanged, failed), from 0, whichever way it was asked for; the refused ones as many as the broken versions this test published', async (t) => {
  const { scrape, total } = await import('../prometheus-text.js');
  const repo = await tempDir('reload-count');
  await publish(repo, 'tiny', 1, exportsDir.a);
  const server = await startServer({ modelDir: repo, port: 0, metricsPort: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const kserve = new (kserveClientConstructor())(server.address, grpc.credentials.createInsecure());
  const repositoryModelLoad = () => new Promise<string>((resolve) => kserve.RepositoryModelLoad({ model_name: 'tiny' }, (e: grpc.ServiceError | null) => resolve(e ? grpc.status[e.code] : 'OK')));
  const counted = async () => {
    const m = await scrape(server.metricsPort!);
    return { loaded: total(m, 'alexnet_model_reloads_total', { result: 'loaded' }), unchanged: total(m, 'alexnet_model_reloads_total', { result: 'unchanged' }), failed: total(m, 'alexnet_model_reloads_total', { result: 'failed' }) };
  };
  // What this test did, counted as it does it.
  const done = { loaded: 0, unchanged: 0, failed: 0 };
  try {
    // Each result's series is there before any reload, at 0: the first failure is an increase.
    const series = (await scrape(server.metricsPort!)).filter((s) => s.name === 'alexnet_model_reloads_total');
    t.deepEqual(series.map((s) => [s.labels.result, s.labels.model, s.value]).sort(), [['failed', 'tiny', 0], ['loaded', 'tiny', 0], ['unchanged', 'tiny', 0]]);

    await publish(repo, 'tiny', 2, exportsDir.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    done.loaded++;
    t.is((await server.reload('test')).status, 'unchanged', 'nothing new published');
    done.unchanged++;
    await publish(repo, 'tiny', 3, exportsDir.corrupt);
    t.is((await server.reload('test')).status, 'failed');
    done.failed++;
    await publish(repo, 'tiny', 4, exportsDir.wrongShape);
    t.is(await repositoryModelLoad(), 'FAILED_PRECONDITION');
    done.failed++;
    t.deepEqual(await counted(), done, 'after a load, an unchanged and two refusals');

    await publish(repo, 'tiny', 5, exportsDir.a);
    t.is(await repositoryModelLoad(), 'OK');
    done.loaded++;
    t.is(server.info.model!.version, '5');
    t.deepEqual(await counted(), done, 'the next good version loaded');
    t.deepEqual(done, { loaded: 2, unchanged: 1, failed: 2 });
  } finally {
    kserve.close();
    await server.shutdown();
  }
});

test('clear refusals: no model, both --model and --model-dir, a repository with no version', async (t) => {
  const repo = await tempDir('reload-empty');
  await t.throwsAsync(startServer({ port: 0, logger: quiet }), { message: /no model to serve/ });
  await t.throwsAsync(startServer({ model: 'x.onnx', modelDir: repo, port: 0, logger: quiet }), { message: /not both/ });
  await publish(repo, 'tiny', 1, exportsDir.a);
  await t.throwsAsync(startServer({ modelDir: repo, modelVersion: { kind: 'pinned', version: 9 }, port: 0, logger: quiet }), { message: /has no version 9 .*it has: 1/ });
});

test('the index stays the index of the model that made it: after a reload to another checkpoint, search and get refuse (FAILED_PRECONDITION) and classify goes on; emptied, it takes the new model; the repository restarts with its index inside', async (t) => {
  const repo = await tempDir('reload-index');
  await publish(repo, 'tiny', 1, exportsDir.a);
  let server = await startServer({ modelDir: repo, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  let search = new SearchClient(server.address);
  const client = new AlexNetClient(server.address);
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
  try {
    const image = await png(5);
    t.like((await search.upsert([{ id: 'x', image }]))[0], { ok: true });
    t.is((await search.search({ image, k: 1 })).hits[0]!.id, 'x');
    await publish(repo, 'tiny', 2, exportsDir.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    const refused = await refusal(search.search({ image, k: 1 }));
    t.is(refused?.code, 9, 'FAILED_PRECONDITION');
    t.regex(refused?.details ?? '', /not comparable.*'alexnet index delete --all'.*index the images again/);
    // What 'alexnet index add' looks up first: a stored item of the other model is not "already there".
    t.is((await refusal(search.get({ ids: ['x'], allow_missing: true })))?.code, 9);
    t.is((await client.classify({ image, top_k: 1 })).model!.version, '2');
    t.is((await search.describe()).count, 1, 'nothing stored was lost');
    t.is((await search.delete(['x'])).deleted, 1);
    t.like((await search.upsert([{ id: 'y', image }]))[0], { ok: true });
    const hit = (await search.search({ image, k: 1 })).hits[0]!;
    t.is(hit.id, 'y');
    t.true(hit.distance < 1e-3, `distance ${hit.distance}`);
    search.close();
    await server.shutdown();
    // Restarted on the same repository: its default index (repo/tiny.index) is not taken for a second model.
    t.deepEqual((await fs.readdir(repo)).sort(), ['tiny', 'tiny.index']);
    server = await startServer({ modelDir: repo, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
    search = new SearchClient(server.address);
    t.is((await search.search({ image, k: 1 })).hits[0]!.id, 'y');
  } finally {
    search.close();
    client.close();
    await server.shutdown();
  }
});

test('an upsert in flight across a reload to another checkpoint never leaves the old model\'s vector in the index the new model re-bound: it is refused, and every stored vector is what the index\'s model computes', async (t) => {
  const repo = await tempDir('reload-index-race');
  await publish(repo, 'tiny', 1, exportsDir.a);
  // A lone image waits up to 5 s for others to fill its batch: the reload, and the new model's upserts, happen meanwhile.
  const server = await startServer({ modelDir: repo, port: 0, device: 'cpu', workers: 1, threads: 1, maxBatch: 4, maxDelayMs: 5000, logger: quiet });
  const search = new SearchClient(server.address);
  const images = await Promise.all([0, 1, 2, 3, 4].map((k) => png(k)));
  try {
    const old = search.upsert([{ id: 'old', image: images[0] }]);
    await new Promise((r) => setTimeout(r, 300));
    await publish(repo, 'tiny', 2, exportsDir.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    // Four fill a batch of the new version at once; the index, still empty, is re-bound to its model.
    t.deepEqual((await search.upsert([1, 2, 3, 4].map((k) => ({ id: `new${k}`, image: images[k] })))).map((r) => r.ok), [true, true, true, true]);
    const [answer] = await old;
    t.false(answer!.ok, 'the old version\'s vector is not written');
    t.is(answer!.error?.code, 9, 'FAILED_PRECONDITION');
    t.regex(answer!.error?.message ?? '', /computed these.*nothing was written; send them again/);
    t.like((await search.upsert([{ id: 'old', image: images[0] }]))[0], { ok: true }, 'sent again, it is indexed with the model serving now');
    // The oracle: what onnxruntime computes here from the files of the model the index says it holds.
    const description = await search.describe();
    const fingerprint = async (dir: string) => (await readModelMetadata(path.join(dir, 'model.onnx'))).checkpointSha256.slice(0, 12);
    t.is(description.model!.version, await fingerprint(exportsDir.b));
    const oracle = await loadOracle(path.join(exportsDir.b, 'model.onnx'));
    const stored = await search.get({ ids: ['old', 'new1', 'new2', 'new3', 'new4'] });
    t.is(description.count, 5);
    for (const [i, item] of stored.items.entries()) {
      const d = maxDiff(item.vector!.values, (await oracle.offline(images[i]!)).fc7);
      t.true(d < 1e-4, `${item.id}: ${d} from the vector the index's model computes`);
    }
  } finally {
    search.close();
    await server.shutdown();
  }
});

test('DescribeIndex is counted in the metrics under the version serving, not under the model its index names', async (t) => {
  const { scrape } = await import('../prometheus-text.js');
  const repo = await tempDir('reload-describe-metrics');
  await publish(repo, 'tiny', 1, exportsDir.a);
  const server = await startServer({ modelDir: repo, port: 0, metricsPort: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const search = new SearchClient(server.address);
  try {
    t.like((await search.upsert([{ id: 'x', image: await png(2) }]))[0], { ok: true });
    const before = await search.describe();
    await publish(repo, 'tiny', 2, exportsDir.b);
    t.like(await server.reload('test'), { status: 'loaded', to: '2' });
    // The index still holds version 1's vectors and says so; the server answering is version 2.
    const after = await search.describe();
    t.is(after.model!.version, before.model!.version);
    const describes = (await scrape(server.metricsPort!)).filter((s) => s.name === 'alexnet_grpc_server_handled_total' && s.labels.grpc_method === 'DescribeIndex');
    t.deepEqual(describes.map((s) => [s.labels.model, s.labels.version, s.value]).sort(), [['tiny', '1', 1], ['tiny', '2', 1]]);
  } finally {
    search.close();
    await server.shutdown();
  }
});

test('a worker that dies is replaced by one loading the version it served, even once another export was renamed over its files or its directory removed', async (t) => {
  const repo = await tempDir('reload-respawn');
  await publish(repo, 'tiny', 1, exportsDir.a);
  const server = await startServer({ modelDir: repo, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const client = new AlexNetClient(server.address);
  // A crash of the worker thread (the engine's own handling of its exit is what is under test).
  const killWorker = () => (server.engine as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]!.worker.terminate();
  const image = await png(4);
  const wanted = (await (await loadOracle(path.join(exportsDir.a, 'model.onnx'))).offline(image)).p;
  const other = (await (await loadOracle(path.join(exportsDir.b, 'model.onnx'))).offline(image)).p;
  t.true(maxDiff(wanted, other) > 1e-4, 'the two exports answer differently');
  const answer = async () => {
    const r = await client.classify({ image, top_k: 3 }, { timeoutMs: 60_000 });
    return { version: r.model!.version, labels: r.classes.map((c) => c.label).sort(), diff: maxDiff(byIndex(r.classes, 3), wanted) };
  };
  try {
    t.like(await answer(), { version: '1', labels: ['a0', 'a1', 'a2'] });
    // Another export renamed over version 1's files, as a careless publish would: version 1 still serves what it loaded.
    for (const f of ['model.onnx', 'model.tencrop.onnx']) {
      await fs.copyFile(path.join(exportsDir.b, f), path.join(repo, 'tiny', '1', `.${f}`));
      await fs.rename(path.join(repo, 'tiny', '1', `.${f}`), path.join(repo, 'tiny', '1', f));
    }
    await killWorker();
    const afterReplace = await answer();
    t.like(afterReplace, { version: '1', labels: ['a0', 'a1', 'a2'] });
    t.true(afterReplace.diff < 1e-5, `answer ${afterReplace.diff} from what version 1 computes`);
    // Its directory removed (a volume swapped to new files, a cleanup): the replacement still loads.
    await fs.rm(path.join(repo, 'tiny', '1'), { recursive: true });
    await killWorker();
    const afterRemove = await answer();
    t.like(afterRemove, { version: '1', labels: ['a0', 'a1', 'a2'] });
    t.true(afterRemove.diff < 1e-5, `answer ${afterRemove.diff} from what version 1 computes`);
  } finally {
    client.close();
    await server.shutdown();
  }
});
