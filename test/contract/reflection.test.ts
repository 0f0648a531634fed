/**
 * Server reflection as a client that has no .proto file uses it (grpcurl, Postman, Python):
 * test/reflection_client.py, Debian's grpcio and protobuf, learns every service from reflection,
 * builds it in a protobuf descriptor pool (which refuses what protoc refuses) and calls it.
 * Oracles: protoc's own descriptors of proto/ and of the health proto (compiled here by
 * grpc_tools), and onnxruntime run offline on the image.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { byIndex, maxDiff, png, serveForTests } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { PYTHON, pythonProblem } from '../python-grpc.js';

// Debian's python3-grpcio and python3-grpc-tools install for the system interpreter (a pyenv python3 on PATH lacks them).
const CLIENT = fileURLToPath(new URL('../../../test/reflection_client.py', import.meta.url));
const PROTO = fileURLToPath(new URL('../../../proto/', import.meta.url));
const REFLECTION_PROTO = fileURLToPath(new URL('../../../node_modules/@grpc/reflection/build/proto/grpc/', import.meta.url));
const HEALTH_PROTO = path.resolve(path.dirname(healthProtoPath), '../..');


interface Described {
  methods: unknown[];
  types: Record<string, unknown[]>;
}
interface Report {
  services: string[];
  reflected: Record<string, Described>;
  protoc: Record<string, Described | null>;
  Classify: { code: string; details?: string; reply?: { classes: { index?: number; probability: number }[] } };
  Search: { code: string; details?: string; reply?: { hits?: unknown[] } };
}

const SERVICES = ['alexnet.v1.AlexNet', 'alexnet.v1.ImageSearch', 'inference.GRPCInferenceService', 'grpc.health.v1.Health'];
const problem = pythonProblem();

if (problem !== undefined) {
  test.skip(`reflection: ${PYTHON} cannot import grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools): ${problem}`, () => undefined);
} else {
  const reports: Record<string, Report> = {};
  let image: Buffer;
  // The index in a folder of this test's own, not beside the shipped model.
  const index = path.join(os.tmpdir(), `alexnet-reflection-index-${process.pid}`);
  test.after.always(() => fs.rm(index, { recursive: true, force: true }));
  const served = serveForTests({ index }, async (s) => {
    const dir = await tempDir('reflection');
    image = await png(3);
    await fs.writeFile(path.join(dir, 'image.png'), image);
    const stubs = path.join(dir, 'stubs');
    await fs.mkdir(stubs);
    const protoc = (include: string, ...files: string[]) =>
      execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${include}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...files], { stdio: 'pipe' });
    protoc(PROTO, 'alexnet/v1/alexnet.proto', 'alexnet/v1/search.proto', 'inference/grpc_service.proto');
    protoc(HEALTH_PROTO, 'health/v1/health.proto');
    protoc(REFLECTION_PROTO, 'reflection/v1/reflection.proto', 'reflection/v1alpha/reflection.proto');
    for (const version of ['v1', 'v1alpha']) {
      const plan = path.join(dir, `plan-${version}.json`);
      await fs.writeFile(plan, JSON.stringify({ address: s.server.address, version, image: path.join(dir, 'image.png'), k: s.meta.labels.length }));
      const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, stubs, plan], { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stderr?: string }) => {
        throw new Error(`reflection_client.py (${version}): ${e.stderr ?? e}`);
      });
      reports[version] = JSON.parse(stdout) as Report;
    }
  });

  for (const version of ['v1', 'v1alpha']) {
    test(`reflection ${version} lists every service, and each is what protoc compiles from its .proto (map fields included)`, (t) => {
      const r = reports[version]!;
      t.deepEqual([...r.services].sort(), [...SERVICES].sort());
      for (const name of SERVICES) {
        t.truthy(r.protoc[name], `${name} is in the .proto files`);
        t.deepEqual(r.reflected[name], r.protoc[name]!, name);
      }
    });

    test(`reflection ${version}: Classify and Search called with messages built from reflection alone`, async (t) => {
      const r = reports[version]!;
      t.is(r.Classify.code, 'OK', r.Classify.details);
      const p = byIndex(r.Classify.reply!.classes.map((c) => ({ index: c.index ?? 0, probability: c.probability })), served.meta.labels.length);
      t.true(maxDiff(p, (await served.offline(image)).p) < 1e-5);
      t.is(r.Search.code, 'OK', r.Search.details);
      t.deepEqual(r.Search.reply!.hits ?? [], [], 'an empty index has no hits, with or without a filter');
    });
  }
}
