/**
 * CLI tier of the server: `alexnet classify` and `alexnet embed` as a user runs them (child
 * processes) against a real server on 127.0.0.1:0.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { startServer } from '../../src/serve/server.js';
import { byIndex, cli, CLI, cliWithInput, maxDiff, png, pngHeader, quiet, serveForTests } from '../serve-fixtures.js';
import { logWatcher } from '../server-process.js';
import { tempDir } from '../temp-dir.js';

const served = serveForTests();

test('classify and embed CLI: a bad image and a missing file among good ones are reported, the good ones are still answered, exit 1', async (t) => {
  const { promises: fs } = await import('node:fs');
  const path = await import('node:path');
  const dir = await tempDir('classify');
  const good = [path.join(dir, 'a.png'), path.join(dir, 'c.png')];
  const bad = path.join(dir, 'b.png');
  await fs.writeFile(good[0]!, await png(11));
  await fs.writeFile(bad, Buffer.from('not an image at all'));
  await fs.writeFile(good[1]!, await png(12));
  const gone = path.join(dir, 'gone.jpg');
  const run = (args: string[]) => cli(...args, good[0]!, bad, gone, good[1]!, '--server', served.server.address);
  const n = served.meta.labels.length;
  const c = await run(['classify', '--json', '--top-k', String(n)]);
  t.is(c.code, 1, c.err);
  t.regex(c.err, /b\.png: .*unsupported image format/);
  t.regex(c.err, /cannot read .*gone\.jpg: no such file/);
  t.regex(c.err, /2 of 4 images failed/);
  const answered = JSON.parse(c.out) as { file: string; classes: { index: number; probability: number }[] }[];
  t.deepEqual(answered.map((r) => r.file), good);
  // Each good file's answer is its own: equal to onnxruntime offline on that image.
  for (const [i, r] of answered.entries()) t.true(maxDiff(byIndex(r.classes, n), (await served.offline(await png(11 + i))).p) <= 1e-6);
  const e = await run(['embed']);
  t.is(e.code, 1, e.err);
  t.regex(e.err, /b\.png: /);
  t.regex(e.err, /gone\.jpg: no such file/);
  t.deepEqual(e.out.trim().split('\n').map((l) => (JSON.parse(l) as { file: string }).file), good);
});

test("classify: a photo over the server's pixel or request-size limit (prepare takes both) is refused saying what to send instead", async (t) => {
  const { promises: fs } = await import('node:fs');
  const path = await import('node:path');
  const dir = await tempDir('classify-large');
  // A 48 MP phone photo's header (8064x6048), and a file past the 16 MiB a request may hold.
  const big = path.join(dir, 'phone.png');
  await fs.writeFile(big, pngHeader(8064, 6048));
  const huge = path.join(dir, 'huge.jpg');
  await fs.writeFile(huge, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(17 * 2 ** 20)]));
  const c = await cli('classify', big, huge, '--server', served.server.address);
  t.is(c.code, 1, c.err);
  t.regex(c.err, /phone\.png: the image is 8064x6048 pixels, over the limit of 40000000: send it scaled down to at most 40000000 pixels \(or serve with a larger --max-pixels\)\n/);
  t.regex(c.err, /huge\.jpg: the request is 17\.0 MiB, over the server's limit of 16\.0 MiB: send the image scaled down, or saved as a JPEG of lower quality\n/);
});

test('classify a folder: its images below it (subfolders too, others left out) in path order after the files typed, each once, every answer its own', async (t) => {
  const { promises: fs } = await import('node:fs');
  const path = await import('node:path');
  const dir = await tempDir('classify-folder');
  const album = path.join(dir, 'album');
  await fs.mkdir(path.join(album, '2020'), { recursive: true });
  // 20 images: more than the calls kept in flight, so the order of the answers is tested.
  const names = Array.from({ length: 20 }, (_, i) => (i % 4 === 0 ? path.join('2020', `p${String(i).padStart(2, '0')}.png`) : `p${String(i).padStart(2, '0')}.png`));
  for (const [i, name] of names.entries()) await fs.writeFile(path.join(album, name), await png(30 + i));
  await fs.writeFile(path.join(album, 'notes.txt'), 'not an image');
  const first = path.join(album, names[5]!);
  const n = served.meta.labels.length;
  const c = await cli('classify', '--json', '--top-k', String(n), first, album, '--server', served.server.address);
  t.is(c.code, 0, c.err);
  const answered = JSON.parse(c.out) as { file: string; classes: { index: number; probability: number }[] }[];
  // The expected order, by hand: the typed file, then the folder's images sorted by path, the typed one not again.
  const expected = [first, ...names.map((f) => path.join(album, f)).sort().filter((f) => f !== first)];
  t.deepEqual(answered.map((r) => r.file), expected);
  for (const r of answered) {
    const k = names.findIndex((f) => path.join(album, f) === r.file);
    t.true(maxDiff(byIndex(r.classes, n), (await served.offline(await png(30 + k))).p) <= 1e-6, r.file);
  }
  const empty = path.join(dir, 'empty');
  await fs.mkdir(empty);
  const none = await cli('classify', empty, '--server', served.server.address);
  t.is(none.code, 1);
  t.regex(none.err, /folder .*empty has no \.jpg, \.jpeg, \.jfif, \.png or \.webp files/);
});

test('a model of fewer than 5 classes: classify without --top-k lists every class; a top_k over the classes is refused', async (t) => {
  const path = await import('node:path');
  const { promises: fs } = await import('node:fs');
  const dir = await tempDir('few-classes');
  t.is((await cli('init', '--preset', 'tiny', '--classes', '3', '--out', path.join(dir, 'ck'))).code, 0);
  const model = path.join(dir, 'three.onnx');
  t.is((await cli('export', path.join(dir, 'ck'), '-o', model)).code, 0);
  const s = await startServer({ model, port: 0, device: 'cpu', logger: quiet });
  try {
    const file = path.join(dir, 'a.png');
    await fs.writeFile(file, await png(13));
    const c = await cli('classify', file, '--json', '--server', s.address);
    t.is(c.code, 0, c.err);
    const [answer] = JSON.parse(c.out) as { classes: { index: number; probability: number }[] }[];
    t.deepEqual(answer!.classes.map((k) => k.index).sort(), [0, 1, 2]);
    t.true(Math.abs(answer!.classes.reduce((sum, k) => sum + k.probability, 0) - 1) < 1e-5, 'the whole distribution');
    const over = await cli('classify', file, '--top-k', '4', '--server', s.address);
    t.is(over.code, 1);
    t.regex(over.err, /top_k 4 is more than the model's 3 classes/);
  } finally {
    await s.shutdown();
  }
});

test('serve --model given a checkpoint, a folder or another file says what to give; --port over 65535 is refused before anything loads', async (t) => {
  const path = await import('node:path');
  const { promises: fs } = await import('node:fs');
  const dir = await tempDir('serve-model-args');
  const ck = path.join(dir, 'ck');
  t.is((await cli('init', '--preset', 'tiny', '--classes', '2', '--out', ck)).code, 0);
  const checkpoint = await cli('serve', '--model', ck, '--port', '0');
  t.is(checkpoint.code, 1);
  t.regex(checkpoint.err, /is a training checkpoint, not an exported model: run 'alexnet export .*ck -o .*ck\.onnx'/);
  t.regex((await cli('serve', '--model', path.join(ck, 'checkpoint.json'), '--port', '0')).err, /is a training checkpoint/);
  const folder = path.join(dir, 'm');
  await fs.mkdir(folder);
  await fs.writeFile(path.join(folder, 'model.onnx'), '');
  t.regex((await cli('serve', '--model', folder, '--port', '0')).err, /is a folder: give the \.onnx file \(.*m\/model\.onnx\)/);
  const text = path.join(dir, 'notes.txt');
  await fs.writeFile(text, 'hello');
  t.regex((await cli('serve', '--model', text, '--port', '0')).err, /notes\.txt is not an \.onnx file/);
  const port = await cli('serve', '--port', '70000');
  t.is(port.code, 1);
  t.regex(port.err, /--port.*must be a port number from 0 to 65535/);
  t.notRegex(port.err, /execution provider/, 'refused before the model is opened');
  // A batching delay of days would hold a lone call as long.
  const delay = await cli('serve', '--max-delay-ms', '1e9');
  t.is(delay.code, 1);
  t.regex(delay.err, /--max-delay-ms.*must be from 0 to 10000/);
});

test("serve's timers stay within what Node's timers take: a longer --max-connection-age, --grace or --stats-interval-ms is refused; the longest accepted age keeps a client's connection", async (t) => {
  const { startServerProcess } = await import('../server-process.js');
  // Node's timers take at most 2^31 - 1 ms; grpc-js waits a connection's age plus up to 10% of jitter.
  const maxAge = Math.floor((2 ** 31 - 1) / 1000 / 1.1);
  const maxGrace = Math.floor((2 ** 31 - 1) / 1000);
  const refused = [
    ['--max-connection-age', String(maxAge + 1), `at most ${maxAge} seconds`],
    ['--max-connection-age', '3000000', `at most ${maxAge} seconds`],
    ['--grace', String(maxGrace + 1), `at most ${maxGrace} seconds`],
    ['--stats-interval-ms', String(2 ** 31), `at most ${2 ** 31 - 1}`],
  ] as const;
  for (const [flag, value, says] of refused) {
    // Served (the old behaviour: every connection closed 1 ms after it opened) or refused.
    const outcome = await startServerProcess([flag, value, '--workers', '1']).then(
      async (p) => {
        p.child.kill('SIGTERM');
        await p.done;
        return 'served';
      },
      (e: Error) => e.message,
    );
    t.true(outcome.includes(`${flag} <`) && outcome.includes(says), `${flag} ${value}: ${outcome.slice(-300)}`);
  }
  const p = await startServerProcess(['--max-connection-age', String(maxAge), '--grace', String(maxGrace), '--workers', '1', '--log-level', 'debug']);
  const { AlexNetClient } = await import('../../src/serve/client.js');
  const client = new AlexNetClient(p.address);
  try {
    const image = await png(5);
    for (let i = 0; i < 3; i++) {
      await client.classify({ image, top_k: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    const peers = p.log.lines.filter((l) => l.msg === 'call' && l.peer).map((l) => l.peer);
    t.is(peers.length, 3);
    t.is(new Set(peers).size, 1, 'the three calls came on one connection');
  } finally {
    client.close();
    p.child.kill('SIGTERM');
  }
  const exit = await p.done;
  t.notRegex(exit.stderr, /TimeoutOverflowWarning/);
});

/**
 * A cgroup of this machine's kernel with a CPU quota of one core, as systemd makes for CPUQuota=100%
 * (cgroup v1's cpu hierarchy, or v2 with the cpu controller on), below the root; or why none can be made here.
 */
function oneCoreCgroup(): { dir: string } | { why: string } {
  if (availableParallelism() < 2) return { why: 'one core here: a quota of one changes nothing' };
  const v1 = readFileSync('/proc/self/cgroup', 'utf8').split('\n').some((l) => l.split(':')[1]?.split(',').includes('cpu'));
  const dir = `${v1 ? '/sys/fs/cgroup/cpu' : '/sys/fs/cgroup'}/alexnet-test-${process.pid}`;
  try {
    mkdirSync(dir);
  } catch (e) {
    return { why: `no cgroup can be made here (${(e as NodeJS.ErrnoException).code})` };
  }
  try {
    if (v1) writeFileSync(`${dir}/cpu.cfs_quota_us`, String(Number(readFileSync(`${dir}/cpu.cfs_period_us`, 'utf8'))));
    else if (existsSync(`${dir}/cpu.max`)) writeFileSync(`${dir}/cpu.max`, '100000 100000');
    else throw new Error('the cpu controller is not enabled for new cgroups');
    return { dir };
  } catch (e) {
    rmdirSync(dir);
    return { why: `no CPU quota can be set here (${(e as Error).message})` };
  }
}

// Made and removed once to know whether the test can run; made again by the test.
const cgroup = oneCoreCgroup();
if ('dir' in cgroup) rmdirSync(cgroup.dir);
('dir' in cgroup ? test : test.skip)(`serve's default worker layout under a cgroup CPU quota of one core below the root (systemd's CPUQuota=100%): one worker of one thread${'why' in cgroup ? ` (${cgroup.why})` : ''}`, async (t) => {
  const made = oneCoreCgroup();
  if (!('dir' in made)) return t.fail(made.why);
  const { dir } = made;
  // The shell joins the cgroup, then becomes the server.
  const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, process.execPath, CLI, 'serve', '--port', '0', '--device', 'cpu'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = logWatcher(child.stderr!);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const serving = await Promise.race([log.waitFor((l) => l.msg === 'serving'), exited.then(() => ({ exited: true }))]);
    t.like(serving, { workers: 1, threadsPerWorker: 1 }, `the kernel gives the server one core of the machine's ${availableParallelism()}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmdirSync(dir);
  }
});

test('serve with a model onnxruntime refuses (a graph with an unknown operator, its metadata intact) says so in one line naming the file, exit 1, no stack trace', async (t) => {
  const path = await import('node:path');
  const { promises: fs } = await import('node:fs');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const dir = await tempDir('serve-unloadable');
  const ck = path.join(dir, 'ck');
  const model = path.join(dir, 'bad', 'model.onnx');
  await fs.mkdir(path.dirname(model));
  t.is((await cli('init', '--preset', 'tiny', '--classes', '3', '--out', ck)).code, 0);
  t.is((await cli('export', ck, '-o', model)).code, 0);
  // Debian's python3-onnx renames the first node's operator in both files: they still open as a pair, onnxruntime refuses the graph.
  const script = "import onnx, sys\nfor f in sys.argv[1:]:\n  m = onnx.load(f)\n  m.graph.node[0].op_type = 'Bogus'\n  onnx.save(m, f)\n";
  await promisify(execFile)('/usr/bin/python3', ['-c', script, model, model.replace(/\.onnx$/, '.tencrop.onnx')]);
  const r = await cli('serve', '--model', model, '--port', '0', '--device', 'cpu', '--workers', '1');
  t.is(r.code, 1, r.err);
  t.regex(r.err, /^alexnet: onnxruntime \(cpu\) cannot load .*bad\/model\.onnx .*Bogus.*export the model again/m);
  t.notRegex(r.err, /^\s+at /m, 'no stack trace');
});

test('serve --max-pixels: the server decodes images up to it and refuses larger ones, naming the option', async (t) => {
  const path = await import('node:path');
  const sharp = (await import('sharp')).default;
  const { startServerProcess } = await import('../server-process.js');
  const dir = await tempDir('serve-max-pixels');
  const make = async (name: string, w: number, h: number) => {
    const file = path.join(dir, name);
    await sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 20, b: 200 } } }).png().toFile(file);
    return file;
  };
  // 300 x 400 = 120,000 pixels: within a limit of 120,000, over one of 119,999.
  const photo = await make('photo.png', 300, 400);
  for (const [limit, ok] of [[120_000, true], [119_999, false]] as const) {
    const p = await startServerProcess(['--max-pixels', String(limit)]);
    try {
      const c = await cli('classify', photo, '--server', p.address);
      t.is(c.code, ok ? 0 : 1, c.err);
      if (!ok) t.regex(c.err, /the image is 300x400 pixels, over the limit of 119999: send it scaled down to at most 119999 pixels \(or serve with a larger --max-pixels\)/);
    } finally {
      p.child.kill('SIGTERM');
      await p.done;
    }
  }
  t.regex((await cli('serve', '--max-pixels', '0')).err, /--max-pixels/);
});

test("classify - and embed - read the image piped on standard input", async (t) => {
  const n = served.meta.labels.length;
  const image = await png(77);
  const oracle = await served.offline(image);
  const c = await cliWithInput(image, 'classify', '-', '--json', '--top-k', String(n), '--server', served.server.address);
  t.is(c.code, 0, c.err);
  const [answer] = JSON.parse(c.out) as { file: string; classes: { index: number; probability: number }[] }[];
  t.is(answer!.file, '-');
  t.true(maxDiff(byIndex(answer!.classes, n), oracle.p) <= 1e-6);
  const e = await cliWithInput(image, 'embed', '-', '--server', served.server.address);
  t.is(e.code, 0, e.err);
  const line = JSON.parse(e.out.trim()) as { file: string; vector: number[] };
  t.is(line.file, '-');
  t.true(maxDiff(Float32Array.from(line.vector), oracle.fc7) <= 1e-4 * Math.max(...oracle.fc7.map(Math.abs)));
  const empty = await cliWithInput(Buffer.alloc(0), 'classify', '-', '--server', served.server.address);
  t.is(empty.code, 1);
  t.regex(empty.err, /-: image is empty/);
});
