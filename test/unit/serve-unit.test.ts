/**
 * Unit tier of the server (no model file, seconds): the worker layout, the error-to-status
 * mapping, the error line of a call failed by a bug, the call context, admission, the failed stream item, the generated message types'
 * freshness.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { CancelledError, ConfigError, DeadlineError, ImageTooLargeError, InvalidImageError, OverloadedError, UnavailableError } from '../../src/errors.js';
import { Admission } from '../../src/serve/admission.js';
import { failedItem } from '../../src/serve/alexnet-service.js';
import { resolveParallelism } from '../../src/serve/batching-defaults.js';
import { cgroupCpuLimit } from '../../src/serve/cgroup-cpu-limit.js';
import { callContext } from '../../src/serve/call-context.js';
import { reportFailure } from '../../src/serve/call-log.js';
import { createLogger } from '../../src/serve/log.js';
import { LOADER_OPTIONS } from '../../src/serve/proto.js';
import { BadRequestError, toStatus } from '../../src/serve/status.js';
import { tempDir } from '../temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

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

test('toStatus: what a caller can act on keeps its message and a specific code; anything else is INTERNAL, its cause not sent', (t) => {
  const cases: [Error, grpc.status][] = [
    [new InvalidImageError('unsupported image format'), grpc.status.INVALID_ARGUMENT],
    [new BadRequestError('top_k 9 is more than the model\'s 3 classes'), grpc.status.INVALID_ARGUMENT],
    [new ImageTooLargeError('30000x30000 is over the limit'), grpc.status.RESOURCE_EXHAUSTED],
    [new OverloadedError('the server is busy'), grpc.status.RESOURCE_EXHAUSTED],
    [new UnavailableError('the model is still loading'), grpc.status.UNAVAILABLE],
    [new DeadlineError('the deadline passed'), grpc.status.DEADLINE_EXCEEDED],
    [new CancelledError('the call was cancelled'), grpc.status.CANCELLED],
  ];
  for (const [e, code] of cases) t.deepEqual(toStatus(e), { code, details: e.message, internal: false }, e.name);
  for (const e of [new Error('secret path /etc/x'), new TypeError('x is undefined'), new ConfigError('not a call error'), 'a string']) {
    t.deepEqual(toStatus(e), { code: grpc.status.INTERNAL, details: 'internal error (logged on the server)', internal: true }, String(e));
  }
});

/** A stand-in for a grpc-js server call: a cancelled flag, a deadline, a peer, the 'cancelled' event. */
function fakeCall(deadline: grpc.Deadline, metadata = new grpc.Metadata()) {
  return Object.assign(new EventEmitter(), { cancelled: false, getDeadline: () => deadline, getPeer: () => 'ipv4:127.0.0.1:5', metadata });
}

test('call context: one AbortSignal, aborted with CancelledError when grpc-js cancels the call (event or flag); the deadline in ms', (t) => {
  const at = new Date(Date.now() + 5000);
  const call = fakeCall(at);
  const ctx = callContext(call);
  t.is(ctx.deadline, at.getTime());
  t.is(ctx.peer, 'ipv4:127.0.0.1:5');
  t.false(ctx.signal.aborted);
  let aborts = 0;
  ctx.signal.addEventListener('abort', () => aborts++);
  call.emit('cancelled');
  t.true(ctx.signal.aborted);
  t.true(ctx.signal.reason instanceof CancelledError);
  call.emit('cancelled');
  t.is(aborts, 1, 'aborted once');
  // grpc-js sets the flag a tick before the event: the signal already says so.
  const early = fakeCall(Infinity);
  const ctx2 = callContext(early);
  t.is(ctx2.deadline, Infinity);
  early.cancelled = true;
  t.true(ctx2.signal.aborted);
  const soon = Date.now() + 1000;
  t.is(callContext(fakeCall(soon)).deadline, soon);
  // The request id: the caller's x-request-id, cleaned of anything a log line should not hold.
  const md = new grpc.Metadata();
  md.set('x-request-id', `abc-123 x${'y'.repeat(200)}`);
  t.is(callContext(fakeCall(Infinity, md)).requestId, `abc-123x${'y'.repeat(120)}`);
  t.is(callContext(fakeCall(Infinity)).requestId, '');
});

test('admission: UNAVAILABLE while loading and once draining; drain waits for the calls in flight', async (t) => {
  const a = new Admission();
  t.throws(() => a.enter(), { instanceOf: UnavailableError, message: 'the model is still loading' });
  a.open();
  a.enter();
  a.enter();
  t.is(a.inFlight, 2);
  let drained = false;
  const draining = a.drain(60_000).then(() => (drained = true));
  t.throws(() => a.enter(), { instanceOf: UnavailableError, message: 'the server is shutting down' });
  a.leave();
  await new Promise((r) => setImmediate(r));
  t.false(drained, 'one call still in flight');
  a.leave();
  await draining;
  t.is(a.inFlight, 0);
});

test('a call failed by a bug of ours: its error line has the code sent, its duration and its cause, as a refusal has', (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const started = performance.now();
  const s = reportFailure(log, 'Classify', new TypeError('x is undefined'), started, { peer: 'ipv4:127.0.0.1:5', requestId: 'req-9' });
  const elapsed = performance.now() - started;
  t.is(s.code, grpc.status.INTERNAL);
  t.is(lines.length, 1);
  t.like(lines[0], { level: 'error', msg: 'call failed', method: 'Classify', peer: 'ipv4:127.0.0.1:5', 'x-request-id': 'req-9', code: 'INTERNAL' });
  t.true(typeof lines[0]!.ms === 'number' && (lines[0]!.ms as number) >= 0 && (lines[0]!.ms as number) <= elapsed + 0.01);
  t.regex(String(lines[0]!.cause), /TypeError: x is undefined/);
});

test('a failed stream item: request_id, model and error set, every other field left to its default', (t) => {
  const model = { name: 'm', version: 'abc' };
  t.deepEqual(failedItem({ request_id: 's3' }, model, { code: grpc.status.INVALID_ARGUMENT, details: 'unsupported image format' }), {
    request_id: 's3',
    model,
    error: { code: grpc.status.INVALID_ARGUMENT, message: 'unsupported image format' },
  });
  t.is(failedItem({}, model, { code: 8, details: 'busy' }).request_id, '');
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

test('the cgroup CPU limit: cgroup v2 cpu.max and v1 cfs quota/period, rounded up to whole cores; none without a limit', (t) => {
  const files = (f: Record<string, string>) => (file: string) => f[file];
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' })), 2);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' })), 2);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' })), 1);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), undefined);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), 4);
  t.is(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), undefined);
  t.is(cgroupCpuLimit(files({})), undefined);
});

test("the cgroup CPU limit is the process's own cgroup's (/proc/self/cgroup), or the smallest above it: a systemd unit's CPUQuota, a container's", (t) => {
  const files = (f: Record<string, string>) => (file: string) => f[file];
  // cgroup v2 on a host: the service's cgroup has the quota; the root has no cpu.max.
  const service = '0::/system.slice/alexnet.service\n';
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': service, '/sys/fs/cgroup/system.slice/alexnet.service/cpu.max': '300000 100000\n' })), 3);
  // A slice above the service limits it more.
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': service, '/sys/fs/cgroup/system.slice/alexnet.service/cpu.max': '300000 100000\n', '/sys/fs/cgroup/system.slice/cpu.max': '100000 100000\n' })), 1);
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': service, '/sys/fs/cgroup/system.slice/alexnet.service/cpu.max': 'max 100000\n' })), undefined);
  // Hybrid (v1 controllers, v2 for systemd): the cpu controller is v1's, whatever its list is called.
  const hybrid = '12:cpu,cpuacct:/system.slice/alexnet.service\n0::/system.slice/alexnet.service\n';
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': hybrid, '/sys/fs/cgroup/cpu/system.slice/alexnet.service/cpu.cfs_quota_us': '250000\n', '/sys/fs/cgroup/cpu/system.slice/alexnet.service/cpu.cfs_period_us': '100000\n' })), 3);
  // A v1 container without a cgroup namespace: the host's path is not below the mount, whose root is the container's cgroup.
  const docker = '4:cpu,cpuacct:/docker/0123abcd\n';
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': docker, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' })), 2);
  // v2 with a cgroup namespace: '/' is the container's own cgroup.
  t.is(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' })), 2);
});
