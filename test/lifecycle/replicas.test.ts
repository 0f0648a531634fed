/**
 * Lifecycle tier: a fleet. Three `alexnet serve` processes on 127.0.0.1, one client over all
 * three addresses (fleet-config.ts: round_robin, UNAVAILABLE retried): calls spread over every
 * replica, and a closed loop of calls goes on without one failure while one replica drains
 * (SIGTERM) and another dies (SIGKILL).
 */
import test from 'ava';
import { AlexNetClient } from '../../src/serve/client.js';
import { byIndex, loadOracle, maxDiff, png } from '../serve-fixtures.js';
import { startServerProcess, type LogLine, type ServerProcess } from '../server-process.js';

const ARGS = ['--device', 'cpu', '--workers', '1', '--threads', '1', '--log-level', 'debug', '--grace', '5'];
const answeredClassify = (l: LogLine) => l.msg === 'call' && /Classify/.test(String(l.method));
const until = async (f: () => boolean) => {
  while (!f()) await new Promise((r) => setTimeout(r, 20));
};

let servers: ServerProcess[] = [];
test.after.always(() => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
});

test('calls spread over three replicas; SIGTERM one and SIGKILL another under a closed loop: no call fails', async (t) => {
  servers = await Promise.all([0, 1, 2].map(() => startServerProcess(ARGS)));
  const [draining, killed, survivor] = servers as [ServerProcess, ServerProcess, ServerProcess];
  const client = new AlexNetClient(servers.map((s) => `127.0.0.1:${s.port}`).join(','));
  const oracle = await loadOracle();
  const n = oracle.meta.labels.length;
  const image = await png(4);
  const expected = (await oracle.offline(image)).p;
  const answered = (s: ServerProcess) => s.log.count(answeredClassify);
  try {
    // 60 calls one after another: each replica answers some (counted from its own call log).
    for (let i = 0; i < 60; i++) await client.classify({ image, top_k: 1 });
    await until(() => servers.reduce((sum, s) => sum + answered(s), 0) === 60);
    const spread = servers.map(answered);
    t.log(`60 calls answered per replica: ${spread.join(', ')}`);
    for (const [i, c] of spread.entries()) t.true(c > 0, `replica ${i} answered none of 60 calls (${spread.join(', ')})`);

    // A closed loop of 4 callers, each calling again as soon as it is answered.
    const failures: string[] = [];
    let wrong = 0;
    let ok = 0;
    let running = true;
    const caller = async () => {
      while (running) {
        await client.classify({ image, top_k: n }).then(
          (r) => (maxDiff(byIndex(r.classes, n), expected) <= 1e-6 ? ok++ : wrong++),
          (e: { code?: number; details?: string }) => failures.push(`${e.code}: ${e.details}`),
        );
      }
    };
    const callers = [caller(), caller(), caller(), caller()];
    // Every replica busy with the loop's calls before the signals.
    const before = servers.map(answered);
    await until(() => servers.every((s, i) => answered(s) >= before[i]! + 5));
    draining.child.kill('SIGTERM');
    killed.child.kill('SIGKILL');
    const [drained, died] = await Promise.all([draining.done, killed.done]);
    // The loop goes on against the one replica left.
    const survivorBefore = answered(survivor);
    await until(() => answered(survivor) >= survivorBefore + 40 || failures.length > 0);
    running = false;
    await Promise.all(callers);

    t.deepEqual(failures, [], 'no call failed');
    t.is(wrong, 0, 'every answer is what onnxruntime computes offline');
    t.true(ok > 0);
    t.is(drained.code, 0, `the drained replica exits 0: ${drained.stderr.slice(-1500)}`);
    t.is(died.signal, 'SIGKILL');
    t.true(draining.log.count((l) => l.msg === 'stopped') === 1, 'the drained replica stopped after its calls');
    t.log(`closed loop: ${ok} calls answered; after both signals the survivor answered ${answered(survivor) - survivorBefore}`);
  } finally {
    client.close();
    survivor.child.kill('SIGTERM');
    t.is((await survivor.done).code, 0);
  }
});
