/** `alexnet serve`, `alexnet classify`, `alexnet embed` (and the message for a call that failed, which the search commands share). */
import { promises as fs } from 'node:fs';
import { ConfigError } from '../errors.js';
import { clientSecurity, type ClientOptionValues } from './client-options.js';
import { imageFiles } from './image-args.js';
import { inOrder } from '../train/in-order.js';
import type { DeviceChoice } from '../serve/execution-providers.js';
import type { LogLevel } from '../serve/log.js';
import { REQUEST_ID } from '../serve/request-id.js';

export interface ServeCommandOptions {
  model?: string;
  modelDir?: string;
  modelName?: string;
  modelVersion?: string;
  watchModels?: boolean;
  host: string;
  port: number;
  device: DeviceChoice;
  workers?: number;
  threads?: number;
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueue: number;
  maxPixels: number;
  workerNice: number;
  /** commander's --no-split-crops: false. */
  splitCrops: boolean;
  grace: number;
  maxConnectionAge: number;
  statsIntervalMs?: number;
  index?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  authTokens?: string;
  metricsPort?: number;
  metricsHost?: string;
  logLevel: LogLevel;
}

export async function serveCommand(opts: ServeCommandOptions): Promise<void> {
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new ConfigError('--tls-cert and --tls-key go together: give both to serve TLS');
  if (opts.tlsClientCa && !opts.tlsCert) throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first');
  // SIGHUP while the server starts (a reload asked of every pod while one is still loading) would
  // end the process, Node's default: remember it, and reload once serving.
  let hupWhileStarting = false;
  const earlyHup = () => void (hupWhileStarting = true);
  process.on('SIGHUP', earlyHup);
  const { startServer } = await import('../serve/server.js');
  const { createLogger } = await import('../serve/log.js');
  const log = createLogger(opts.logLevel);
  // grpc-js's own log lines (plain text on stderr by default) join the server's JSON lines.
  const grpc = await import('@grpc/grpc-js');
  const { format } = await import('node:util');
  const fromGrpc = (at: 'warn' | 'info' | 'debug') => (...args: unknown[]) => log[at]('grpc-js', { line: format(...args) });
  grpc.setLogger({ error: fromGrpc('warn'), info: fromGrpc('info'), debug: fromGrpc('debug') });
  const { parseVersionPolicy } = await import('../model/model-repository.js');
  const server = await startServer({
    ...(opts.model ? { model: opts.model } : {}),
    ...(opts.modelDir ? { modelDir: opts.modelDir } : {}),
    ...(opts.modelName ? { modelName: opts.modelName } : {}),
    ...(opts.modelVersion ? { modelVersion: parseVersionPolicy(opts.modelVersion) } : {}),
    ...(opts.watchModels ? { watchModels: true } : {}),
    host: opts.host,
    port: opts.port,
    device: opts.device,
    ...(opts.workers ? { workers: opts.workers } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}),
    maxBatch: opts.maxBatch,
    maxDelayMs: opts.maxDelayMs,
    maxQueue: opts.maxQueue,
    maxPixels: opts.maxPixels,
    splitLoneImages: opts.splitCrops,
    workerNice: opts.workerNice,
    graceMs: opts.grace * 1000,
    maxConnectionAgeMs: opts.maxConnectionAge * 1000,
    ...(opts.statsIntervalMs ? { statsIntervalMs: opts.statsIntervalMs } : {}),
    ...(opts.index ? { index: opts.index } : {}),
    ...(opts.tlsCert ? { tls: { cert: opts.tlsCert, key: opts.tlsKey!, ...(opts.tlsClientCa ? { clientCa: opts.tlsClientCa } : {}) } } : {}),
    ...(opts.authTokens ? { authTokens: opts.authTokens } : {}),
    ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
    ...(opts.metricsHost ? { metricsHost: opts.metricsHost } : {}),
    logger: log,
  });
  const stop = (signal: string) => {
    server.shutdown(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('shutdown failed', { cause: String(e) });
        process.exit(1);
      },
    );
  };
  // SIGHUP: serve the version the model source names now (a failure is logged; the old one keeps serving).
  process.on('SIGHUP', () => void server.reload('SIGHUP'));
  process.off('SIGHUP', earlyHup);
  if (hupWhileStarting) {
    log.info('SIGHUP came while starting: reading the model source again now that the server is serving');
    void server.reload('SIGHUP while starting');
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Calls in flight at once for classify and embed: enough to fill a server's batches, bounded for a folder of thousands. */
const IN_FLIGHT = 16;

export const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a folder' };

/** All of standard input (read once: `-` given twice is the same image). */
let stdin: Promise<Buffer> | undefined;
function stdinBytes(): Promise<Buffer> {
  stdin ??= (async () => {
    if (process.stdin.isTTY) throw new Error("'-' reads an image from standard input, which is a terminal here: pipe one in (alexnet classify - < photo.jpg)");
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  return stdin;
}

/**
 * Read and send each image (`call`), IN_FLIGHT at a time, and `show` the answers in the order of
 * the files; a file that cannot be read, or a call that fails, is a failure and the rest go on.
 */
async function eachImage<R>(files: string[], server: string, call: (image: Buffer) => Promise<R>, show: (file: string, r: R) => void): Promise<string[]> {
  const failures: string[] = [];
  await inOrder(
    files.length,
    0,
    IN_FLIGHT,
    async (i): Promise<R | undefined> => {
      // '-': the image piped in (curl ... | alexnet classify -).
      const image = await (files[i] === '-' ? stdinBytes() : fs.readFile(files[i]!)).catch((e: NodeJS.ErrnoException) => {
        failures.push(`cannot read ${files[i]}: ${READ_ERRORS[e.code ?? ''] ?? e.message}`);
        return undefined;
      });
      if (!image) return undefined;
      return call(image).catch((e: unknown) => {
        failures.push(callError(e, files[i]!, server));
        return undefined;
      });
    },
    async (i, r) => {
      if (r !== undefined) show(files[i]!, r);
    },
    async () => undefined,
  );
  return failures;
}

/** The system's reason in grpc-js's "No connection established. Last error: ..." text (ECONNREFUSED, a TLS error), else all of it. */
function unreachableWhy(details: string): string {
  const last = details.split('Last error: ').pop()!.replace(/\. Resolution note:.*$/s, '').replace(/^Error: /, '').trim();
  return last || details;
}

/** A call failed: an unreachable server stops everything; a bad image is reported and the others go on. */
export function callError(e: unknown, file: string, server: string): string {
  const err = e as { code?: number; details?: string; message?: string; metadata?: { get(key: string): unknown[] } };
  // Our server's own UNAVAILABLE (shutting down, its index database down) carries the call's request id; grpc-js's "cannot connect" does not.
  if (err.code === 14 && (err.metadata?.get(REQUEST_ID).length ?? 0) > 0) throw new ConfigError(`the server at ${server} is unavailable: ${err.details ?? err.message}`);
  // mTLS: the handshake ends in the server's "certificate required" alert when no client certificate was given.
  if (err.code === 14 && /certificate required/i.test(err.details ?? '')) throw new ConfigError(`the server at ${server} asks for a client certificate (mTLS): pass --tls-cert and --tls-key`);
  if (err.code === 14) throw new ConfigError(`cannot reach a server at ${server} (${unreachableWhy(err.details ?? err.message ?? '')}); start one with 'alexnet serve' (a TLS server needs --tls or --tls-ca; an mTLS one --tls-cert and --tls-key too)`);
  if (err.code === 16) throw new ConfigError(`the server at ${server} refused the call: ${err.details ?? err.message}`);
  return `${file}: ${tooLargeRequest(e) ?? err.details ?? err.message}`;
}

/** grpc-js's own refusal of a request over the server's size limit, in a user's terms; undefined for any other error. */
export function tooLargeRequest(e: unknown): string | undefined {
  const err = e as { code?: number; details?: string };
  const sizes = err.code === 8 ? /larger than max \((\d+) vs (\d+)\)/.exec(err.details ?? '') : null;
  if (!sizes) return undefined;
  const mib = (n: string) => (Number(n) / 2 ** 20).toFixed(1);
  return `the request is ${mib(sizes[1]!)} MiB, over the server's limit of ${mib(sizes[2]!)} MiB: send the image scaled down, or saved as a JPEG of lower quality`;
}

/** Every image is answered or its error printed; if any failed, exit 1 after all the others are out. */
function finish(failures: string[], files: string[]): void {
  for (const f of failures) console.error(`alexnet: ${f}`);
  if (failures.length > 0) throw new ConfigError(`${failures.length} of ${files.length} images failed`);
}

export async function classifyCommand(args: string[], opts: ClientOptionValues & { topK?: number; center?: boolean; json?: boolean; timeout: number }): Promise<void> {
  const { AlexNetClient } = await import('../serve/client.js');
  const files = await imageFiles(args, true);
  const client = new AlexNetClient(opts.server, {}, clientSecurity(opts));
  const answered: { file: string; classes: unknown; model: unknown }[] = [];
  let failures: string[];
  try {
    // top_k 0: the server's default, 5 or every class of a model with fewer.
    const call = (image: Buffer) => client.classify({ image, top_k: opts.topK ?? 0, crop: opts.center ? 'CENTER' : 'TEN_CROP' }, { timeoutMs: opts.timeout * 1000 });
    failures = await eachImage(files, opts.server, call, (file, r) => {
      if (opts.json) {
        answered.push({ file, classes: r.classes, model: r.model });
        return;
      }
      console.log(`${file}:`);
      for (const c of r.classes) console.log(`  ${(100 * c.probability).toFixed(2).padStart(6)}%  ${c.label} (${c.class_id && c.class_id !== c.label ? `${c.class_id}, ` : ''}${c.index})`);
    });
    if (opts.json) console.log(JSON.stringify(answered));
  } finally {
    client.close();
  }
  finish(failures, files);
}

export async function embedCommand(args: string[], opts: ClientOptionValues & { normalize?: boolean; center?: boolean; timeout: number }): Promise<void> {
  const { AlexNetClient } = await import('../serve/client.js');
  const files = await imageFiles(args, true);
  const client = new AlexNetClient(opts.server, {}, clientSecurity(opts));
  let failures: string[];
  try {
    const call = (image: Buffer) => client.embed({ image, normalize: opts.normalize ?? false, crop: opts.center ? 'CENTER' : 'TEN_CROP' }, { timeoutMs: opts.timeout * 1000 });
    // One JSON object per line: easy to stream into an index.
    failures = await eachImage(files, opts.server, call, (file, r) =>
      console.log(JSON.stringify({ file, model: r.model, dimension: r.embedding!.dimension, normalized: r.embedding!.normalized, vector: r.embedding!.vector })),
    );
  } finally {
    client.close();
  }
  finish(failures, files);
}
