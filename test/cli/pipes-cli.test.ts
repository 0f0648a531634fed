/**
 * The `alexnet` command in a script: its output read by another program that may stop reading
 * early (`alexnet embed dir/ | head -1`), against a real server on 127.0.0.1:0; Ctrl-C of a client
 * waiting on a server that does not answer; the same option spelled alike in every command.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { CLI, cli, png, serveForTests } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';

// The server's similarity index, for search (made before the server starts, removed after it stops).
const INDEX = mkdtempSync(path.join(os.tmpdir(), 'alexnet-pipes-index-'));
const served = serveForTests({ index: INDEX });
test.after.always(() => rmSync(INDEX, { recursive: true, force: true }));

/** Images enough that their output (an fc7 vector is ~10 kB of JSON) is far over a pipe's 64 kB buffer. */
async function folder(n: number): Promise<string> {
  const dir = await tempDir('pipes');
  for (let i = 0; i < n; i++) await fs.writeFile(path.join(dir, `${String(i).padStart(3, '0')}.png`), await png(i));
  return dir;
}

/** Run the command, read its first chunk of stdout, then close the pipe as `head -1` does. */
async function headOne(args: string[]): Promise<{ first: string; code: number | null; signal: string | null; err: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [chunk] = (await once(p.stdout, 'data')) as [Buffer];
  p.stdout.destroy();
  const [code, signal] = (await once(p, 'close')) as [number | null, string | null];
  return { first: chunk.toString().split('\n')[0]!, code, signal, err };
}

test('embed and classify piped into a reader that stops early end quietly, exit 0, no EPIPE stack', async (t) => {
  const dir = await folder(40);
  const server = ['--server', served.server.address];
  const e = await headOne(['embed', dir, ...server]);
  t.is((JSON.parse(e.first) as { file: string }).file, path.join(dir, '000.png'));
  t.is(e.err, '');
  t.is(e.code, 0);
  const c = await headOne(['classify', dir, '--top-k', '10', ...server]);
  t.is(c.first, `${path.join(dir, '000.png')}:`);
  t.is(c.err, '');
  t.is(c.code, 0);
});

test('Ctrl-C or SIGTERM of a client waiting on a server ends it at once with one line, exit 130 or 143', async (t) => {
  for (const [args, signal, code] of [
    [['index', 'list'], 'SIGINT', 130],
    [['index', 'add', await folder(1)], 'SIGINT', 130],
    [['search', '--id', 'x'], 'SIGTERM', 143],
  ] as const) {
    // A server of its own that takes the connection and never answers: the call would wait out its 30 s deadline.
    const sockets: net.Socket[] = [];
    const blackHole = net.createServer((s) => void sockets.push(s));
    blackHole.listen(0, '127.0.0.1');
    await once(blackHole, 'listening');
    try {
      const p = spawn(process.execPath, [CLI, ...args, '--server', `127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // It is in its call once it has connected.
      await once(blackHole, 'connection');
      p.kill(signal);
      const [exit, by] = (await once(p, 'close')) as [number | null, string | null]; // 'close': stderr read to its end
      t.is(exit, code, `${args.join(' ')}: ${by ?? ''} ${err}`);
      t.is(err, `alexnet: interrupted (${signal})\n`);
    } finally {
      for (const s of sockets) s.destroy();
      blackHole.close();
    }
  }
});

test('classify and search both take -k and --top-k for how many answers to show', async (t) => {
  const dir = await folder(4);
  const server = ['--server', served.server.address];
  t.is((await cli('index', 'add', dir, ...server)).code, 0);
  const query = path.join(dir, '000.png');
  for (const flag of ['-k', '--top-k']) {
    const c = await cli('classify', query, flag, '3', '--json', ...server);
    t.is(c.code, 0, `classify ${flag}: ${c.err}`);
    t.is((JSON.parse(c.out) as { classes: unknown[] }[])[0]!.classes.length, 3, `classify ${flag}`);
    const s = await cli('search', query, flag, '2', '--json', ...server);
    t.is(s.code, 0, `search ${flag}: ${s.err}`);
    t.is((JSON.parse(s.out) as unknown[]).length, 2, `search ${flag}`);
  }
});

test("--server \"$SERVER\" with the variable unset: one line saying so, exit 1, for every client command", async (t) => {
  for (const args of [['index', 'info'], ['index', 'list', '--json'], ['search', '--id', 'x'], ['classify', path.join(await folder(1), '000.png')]]) {
    for (const empty of ['', ' ']) {
      const r = await cli(...args, '--server', empty);
      t.is(r.code, 1, args.join(' '));
      t.is(r.err, "alexnet: --server is empty: give the server's host:port (e.g. localhost:50051)\n", args.join(' '));
      t.is(r.out, '');
    }
  }
});

test('-o names the output as --out does in every command that writes one, as in export', async (t) => {
  const out = path.join(await tempDir('pipes-out'), 'ck');
  const r = await cli('init', '--preset', 'tiny', '--classes', '3', '-o', out);
  t.is(r.code, 0, r.err);
  t.is((JSON.parse(await fs.readFile(path.join(out, 'checkpoint.json'), 'utf8')) as { classes: number }).classes, 3);
  for (const command of [['init'], ['train'], ['export'], ['data', 'prepare'], ['data', 'fashion-mnist']]) {
    t.regex((await cli(...command, '--help')).out, /^\s+-o, --out </m, command.join(' '));
  }
});

test('an option given an empty value ("$DIR" unset) is refused in one line, not taken as left out', async (t) => {
  for (const args of [['serve', '--index', ''], ['index', 'info', '--server', '127.0.0.1:1', '--tls-ca', ''], ['search', 'x.png', '--server', '127.0.0.1:1', '--where', ''], ['train', '--data', '', '--out', 'x']]) {
    const r = await cli(...args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.err, /^alexnet: --(index|tls-ca|where|data) is empty: give it a value, or leave the option out\n$/, args.join(' '));
  }
});
