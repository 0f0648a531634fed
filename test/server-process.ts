/**
 * `alexnet serve` as a child process for the lifecycle tests (not a test file): spawned on
 * 127.0.0.1 (port 0 unless the arguments name one), resolved once its own log says it serves,
 * with its address, its port and a watcher over its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './serve-fixtures.js';

export type LogLine = Record<string, unknown>;

export interface LogWatcher {
  /** Every JSON line so far, parsed, in order. */
  lines: LogLine[];
  /** Resolves at the first line from now on that matches. */
  waitFor(match: (l: LogLine) => boolean): Promise<LogLine>;
  /** Lines so far that match. */
  count(match: (l: LogLine) => boolean): number;
}

/** The JSON log lines of a stream as they arrive (lines that are not JSON are skipped). */
export function logWatcher(stream: NodeJS.ReadableStream): LogWatcher {
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  return {
    lines,
    waitFor: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
    count: (match) => lines.filter(match).length,
  };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything it wrote on stderr. */
  stderr: string;
}

export interface ServerProcess {
  child: ChildProcess;
  /** host:port, as its 'serving' line says. */
  address: string;
  port: number;
  log: LogWatcher;
  /** Resolves when it exits. */
  done: Promise<Exit>;
}

/**
 * Start `alexnet serve <args>` (with `--port 0` unless args give --port) and wait for its
 * 'serving' line; rejects with its stderr if it exits first.
 */
export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  const argv = ['serve', ...(args.includes('--port') ? [] : ['--port', '0']), ...args];
  const child = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = logWatcher(child.stderr!);
  const done = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  const serving = await Promise.race([
    log.waitFor((l) => l.msg === 'serving'),
    done.then((e) => {
      throw new Error(`alexnet ${argv.join(' ')} exited (${e.code ?? e.signal}) before serving: ${e.stderr.slice(-2000)}`);
    }),
  ]);
  const address = serving.address as string;
  return { child, address, port: Number(address.slice(address.lastIndexOf(':') + 1)), log, done };
}
