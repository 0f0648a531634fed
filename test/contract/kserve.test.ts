/**
 * Contract tier of inference.GRPCInferenceService (KServe v2 / Open Inference Protocol, and the
 * calls of Triton's superset): a real server on 127.0.0.1:0 driven by a client we did not write,
 * Debian's grpcio with stubs protoc compiles here from proto/inference/grpc_service.proto
 * (test/kserve_client.py, one fixed scenario, JSON out). Oracle: the server's own AlexNet service
 * (Classify, with its embedding) on the same images, itself checked against onnxruntime offline
 * by serve-contract.test.ts; decoded pixels made here by the shared decode module.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeToSquare } from '../../src/image/decode.js';
import type { ClassifyResponse__Output } from '../../src/serve/generated/alexnet/v1/ClassifyResponse.js';
import { byIndex, maxDiff, png, serveForTests } from '../serve-fixtures.js';
import { tempDir } from '../temp-dir.js';
import { PYTHON, pythonProblem } from '../python-grpc.js';

// Debian's python3-grpcio and python3-grpc-tools install for the system interpreter (a pyenv python3 on PATH lacks them).
const CLIENT = fileURLToPath(new URL('../../../test/kserve_client.py', import.meta.url));
const PROTO = fileURLToPath(new URL('../../../proto/', import.meta.url));


interface Output {
  datatype: string;
  shape: number[];
  values: (number | string)[];
}
interface InferCall {
  label: string;
  code: string;
  details: string;
  model_name?: string;
  model_version?: string;
  id?: string;
  raw?: boolean;
  outputs?: Record<string, Output>;
}
type Stats = { model_stats: { inference_count: string; execution_count: string; last_inference: string; inference_stats: Record<string, { count: string; ns: string }> }[] };
interface Report {
  [method: string]: any;
  calls: InferCall[];
  statsBefore: Stats;
  statsAfter: Stats;
}

const IMAGES = 3;
const PIXELS = 2;
const K = 3;
const problem = pythonProblem();

if (problem !== undefined) {
  test.skip(`KServe v2 contract: ${PYTHON} cannot import grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools): ${problem}`, () => undefined);
} else {
  const own: ClassifyResponse__Output[] = [];
  let report: Report;
  const served = serveForTests({}, async (s) => {
    const dir = await tempDir('kserve');
    const images = await Promise.all(Array.from({ length: IMAGES }, (_, k) => png(k + 1)));
    const imageFiles = await Promise.all(images.map(async (b, k) => (await fs.writeFile(path.join(dir, `${k}.png`), b), path.join(dir, `${k}.png`))));
    // The first PIXELS images decoded as the server decodes them: what a client sends as `pixels`.
    const pixelFiles = await Promise.all(
      images.slice(0, PIXELS).map(async (b, k) => {
        const d = await decodeToSquare(b, { size: s.meta.baseSize });
        await fs.writeFile(path.join(dir, `${k}.rgb`), d.data);
        return path.join(dir, `${k}.rgb`);
      }),
    );
    // The oracle first, so the client's calls are the only ones the statistics see.
    for (const image of images) own.push(await s.client.classify({ image, top_k: s.meta.labels.length, include_embedding: true }));
    const stubs = path.join(dir, 'stubs');
    await fs.mkdir(stubs);
    execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'inference/grpc_service.proto'], { stdio: 'pipe' });
    const plan = { address: s.server.address, model: s.server.info.model!.name, images: imageFiles, pixels: pixelFiles, base_size: s.meta.baseSize, k: K };
    await fs.writeFile(path.join(dir, 'plan.json'), JSON.stringify(plan));
    const { stdout } = await promisify(execFile)(PYTHON, [CLIENT, stubs, path.join(dir, 'plan.json')], { maxBuffer: 64 * 1024 * 1024 });
    report = JSON.parse(stdout) as Report;
  });
  const call = (label: string): InferCall => report.calls.find((c) => c.label === label)!;
  const rows = (o: Output, n: number) => Array.from({ length: n }, (_, i) => (o.values as number[]).slice((i * o.values.length) / n, ((i + 1) * o.values.length) / n));

  test('ServerLive, ServerReady, ModelReady; ServerMetadata lists the extensions', (t) => {
    t.deepEqual(report['ServerLive'], { live: true });
    t.deepEqual(report['ServerReady'], { ready: true });
    t.deepEqual(report['ModelReady'], { ready: true });
    t.deepEqual(report['ModelReadyOther'], { ready: false }, 'a model this server does not serve is not ready');
    t.is(report['ServerMetadata'].name, 'alexnet');
    t.deepEqual(report['ServerMetadata'].extensions, ['classification', 'model_configuration', 'statistics', 'model_repository']);
  });

  test('ModelMetadata and ModelConfig describe the tensors and the batching', (t) => {
    const { baseSize: b, labels, embeddingDimension: dim } = served.meta;
    const info = served.server.info;
    const md = report['ModelMetadata'];
    t.is(md.name, info.model!.name);
    t.deepEqual(md.versions, [info.model!.version]);
    t.is(md.platform, 'onnxruntime_onnx');
    const shapes = (ts: { name: string; datatype: string; shape: string[] }[]) => ts.map((x) => `${x.name} ${x.datatype} [${x.shape.join(',')}]`);
    t.deepEqual(shapes(md.inputs), ['images BYTES [-1,1]', `pixels UINT8 [-1,${b},${b},3]`]);
    t.deepEqual(shapes(md.outputs), [`probabilities FP32 [-1,${labels.length}]`, `fc7 FP32 [-1,${dim}]`]);
    t.is(report['ModelMetadataOther'].code, 'NOT_FOUND');
    const c = report['ModelConfig'].config;
    t.is(c.name, info.model!.name);
    t.is(c.platform, 'onnxruntime_onnx');
    // Triton's max_batch_size: the most images one request may hold (the engine's batch is the preferred size).
    t.is(report['atMaxBatch'].code, 'OK', report['atMaxBatch'].details);
    t.is(report['overMaxBatch'].code, 'INVALID_ARGUMENT');
    t.regex(report['overMaxBatch'].details, new RegExp(`at most ${c.max_batch_size}\\b`));
    t.deepEqual(c.dynamic_batching.preferred_batch_size, [info.max_batch_size!]);
    t.is(report['schedulingChoice'], 'dynamic_batching');
    t.is(Number(c.dynamic_batching.max_queue_delay_microseconds), info.max_queue_delay_us!);
    t.deepEqual(c.input.map((x: { name: string; data_type: string; dims: string[] }) => `${x.name} ${x.data_type} [${x.dims.join(',')}]`), ['images TYPE_STRING [1]', `pixels TYPE_UINT8 [${b},${b},3]`]);
    t.deepEqual(c.output.map((x: { name: string; data_type: string; dims: string[] }) => `${x.name} ${x.data_type} [${x.dims.join(',')}]`), [`probabilities TYPE_FP32 [${labels.length}]`, `fc7 TYPE_FP32 [${dim}]`]);
  });

  // raw_pixels_one: a lone image, whose ten crops the engine divides among free workers (it is sent to them).
  test('ModelInfer equals Classify and Embed in both BYTES encodings and for UINT8 pixels in both encodings', (t) => {
    const n = served.meta.labels.length;
    const dim = served.meta.embeddingDimension;
    for (const [label, count, raw] of [['bytes_contents', IMAGES, false], ['raw_bytes', IMAGES, true], ['uint_contents', PIXELS, false], ['raw_pixels', PIXELS, true], ['raw_pixels_one', 1, true]] as const) {
      const c = call(label);
      t.is(c.code, 'OK', `${label}: ${c.details}`);
      t.is(c.raw, raw, `${label}: raw outputs exactly when the inputs were raw`);
      t.is(c.model_name, served.server.info.model!.name);
      t.is(c.model_version, served.server.info.model!.version, `${label}: the version that answered`);
      const p = c.outputs!['probabilities']!;
      const f = c.outputs!['fc7']!;
      t.deepEqual([p.datatype, p.shape, f.datatype, f.shape], ['FP32', [count, n], 'FP32', [count, dim]], label);
      rows(p, count).forEach((row, i) => t.true(maxDiff(row, byIndex(own[i]!.classes, n)) <= 1e-5, `${label} image ${i}: probabilities differ by ${maxDiff(row, byIndex(own[i]!.classes, n))}`));
      rows(f, count).forEach((row, i) => t.true(maxDiff(row, own[i]!.embedding!.vector) <= 1e-5 * Math.max(1, ...own[i]!.embedding!.vector), `${label} image ${i}: fc7 differs`));
    }
    t.is(call('bytes_contents').id, 'r-1', 'the id is echoed');
    const [first, second] = rows(call('bytes_contents').outputs!['probabilities']!, IMAGES);
    t.true(maxDiff(first!, second!) > 1e-4, 'the images give different answers (the check is not vacuous)');
  });

  test('the classification extension answers "<prob>:<index>:<label>", best first, the top K of Classify', (t) => {
    for (const label of ['classification', 'classification_raw']) {
      const c = call(label);
      t.is(c.code, 'OK', `${label}: ${c.details}`);
      const o = c.outputs!['probabilities']!;
      t.deepEqual([o.datatype, o.shape], ['BYTES', [IMAGES, K]], label);
      for (let i = 0; i < IMAGES; i++) {
        const parsed = (o.values as string[]).slice(i * K, (i + 1) * K).map((s) => {
          const [prob, index, ...name] = s.split(':');
          return { probability: Number(prob), index: Number(index), label: name.join(':') };
        });
        const top = own[i]!.classes.slice(0, K);
        t.deepEqual(parsed.map((x) => [x.index, x.label]), top.map((x) => [x.index, x.label]), `${label} image ${i}`);
        t.true(maxDiff(parsed.map((x) => x.probability), top.map((x) => x.probability)) <= 1e-5, `${label} image ${i}: probabilities`);
      }
    }
    t.deepEqual(Object.keys(call('classification').outputs!), ['probabilities'], 'only the output asked for');
    t.deepEqual(Object.keys(call('classification_raw').outputs!), ['probabilities', 'fc7']);
    t.deepEqual(call('classification_raw').outputs!['fc7']!.shape, [IMAGES, served.meta.embeddingDimension]);
  });

  test('only the requested outputs are answered', (t) => {
    const c = call('only_fc7');
    t.is(c.code, 'OK', c.details);
    t.deepEqual(Object.keys(c.outputs!), ['fc7']);
    t.true(maxDiff(c.outputs!['fc7']!.values as number[], own[0]!.embedding!.vector) <= 1e-5 * Math.max(1, ...own[0]!.embedding!.vector));
  });

  test('bad tensors get INVALID_ARGUMENT saying what to send; an unknown model or version NOT_FOUND', (t) => {
    const expect: [string, string, RegExp][] = [
      ['wrong_datatype', 'INVALID_ARGUMENT', /images must be BYTES/],
      ['wrong_shape', 'INVALID_ARGUMENT', /send \[N\] or \[N,1\]/],
      ['pixels_wrong_shape', 'INVALID_ARGUMENT', new RegExp(`send \\[N,${served.meta.baseSize},${served.meta.baseSize},3\\]`)],
      ['raw_byte_count', 'INVALID_ARGUMENT', /bytes in raw_input_contents .* send \d+/],
      ['raw_bytes_truncated', 'INVALID_ARGUMENT', /4-byte little-endian length/],
      ['element_count', 'INVALID_ARGUMENT', /elements in contents\.bytes_contents/],
      ['unknown_input', 'INVALID_ARGUMENT', /unknown input "image": send one input: images/],
      ['no_input', 'INVALID_ARGUMENT', /no input tensor/],
      ['both_inputs', 'INVALID_ARGUMENT', /not both/],
      ['unknown_output', 'INVALID_ARGUMENT', /unknown output "fc8"/],
      ['classification_too_many', 'INVALID_ARGUMENT', /classification must be/],
      ['not_an_image', 'INVALID_ARGUMENT', /^images\[1\]: /],
      ['unknown_model', 'NOT_FOUND', /no model "no-such-model"/],
      ['unknown_version', 'NOT_FOUND', /no version "no-such-version"/],
    ];
    for (const [label, code, details] of expect) {
      const c = call(label);
      t.is(c.code, code, `${label}: ${c.details}`);
      t.regex(c.details, details, label);
    }
  });

  test('ModelStatistics counts move by the calls made', (t) => {
    const [before, after] = [report.statsBefore.model_stats[0]!, report.statsAfter.model_stats[0]!];
    const delta = (f: (s: typeof before) => string) => Number(f(after)) - Number(f(before));
    const ok = report.calls.filter((c) => c.code === 'OK');
    const refused = report.calls.filter((c) => c.code === 'INVALID_ARGUMENT');
    const images = ok.reduce((sum, c) => sum + Object.values(c.outputs!)[0]!.shape[0]!, 0);
    t.is(ok.length, 8);
    t.is(delta((s) => s.inference_stats['success']!.count), ok.length);
    t.is(delta((s) => s.inference_stats['fail']!.count), refused.length, 'refusals after the model was found count as failures; NOT_FOUND calls do not');
    t.true(delta((s) => s.inference_stats['success']!.ns) > 0);
    t.is(delta((s) => s.inference_count), images);
    // Reading the inputs (and decoding images), and encoding the outputs, of each answered call.
    for (const step of ['compute_input', 'compute_output']) {
      t.is(delta((s) => s.inference_stats[step]!.count), ok.length, step);
      t.true(delta((s) => s.inference_stats[step]!.ns) > 0, step);
    }
    // The engine's counts: every image that reached the model (not_an_image's good one may have), in batches of at most max_batch_size.
    const inferred = delta((s) => s.inference_stats['compute_infer']!.count);
    t.true(inferred >= images && inferred <= images + 1, `${inferred} images reached the model for ${images} answered`);
    const batches = delta((s) => s.execution_count);
    t.true(batches >= Math.ceil(inferred / served.server.info.max_batch_size!) && batches <= inferred, `${batches} batches`);
    t.true(Number(after.last_inference) >= Number(before.last_inference) && Number(after.last_inference) > 0);
    // Queue time: one wait per image that reached the model, and some time waited in all.
    t.is(delta((s) => s.inference_stats['queue']!.count), inferred);
    t.true(delta((s) => s.inference_stats['queue']!.ns) > 0);
  });

  test('ModelStreamInfer answers each request in order as ModelInfer does, a bad one with its status in error_message, and goes on', (t) => {
    const s = report['stream'] as { error_message: string; id: string; model_name: string; outputs?: Record<string, Output> }[];
    t.deepEqual(s.map((x) => x.id), ['s-1', 's-2', 's-3', 's-4', 's-5'], 'one answer per request, in order, with its id');
    const n = served.meta.labels.length;
    for (const [k, count, first] of [[0, IMAGES, 0], [2, PIXELS, 0], [4, 1, 1]] as const) {
      t.is(s[k]!.error_message, '', `${s[k]!.id}: ${s[k]!.error_message}`);
      t.is(s[k]!.model_name, served.server.info.model!.name!);
      rows(s[k]!.outputs!['probabilities']!, count).forEach((row, i) => t.true(maxDiff(row, byIndex(own[first + i]!.classes, n)) <= 1e-5, `${s[k]!.id} image ${i}`));
    }
    t.regex(s[1]!.error_message, /^INVALID_ARGUMENT: .*images must be BYTES/);
    t.regex(s[3]!.error_message, /^NOT_FOUND: no model "no-such-model"/);
    const [before, after] = [report.statsAfter.model_stats[0]!, report['statsStream'].model_stats[0]!];
    t.is(Number(after.inference_stats['success']!.count) - Number(before.inference_stats['success']!.count), 3);
    t.is(Number(after.inference_stats['fail']!.count) - Number(before.inference_stats['fail']!.count), 1, 'the refused tensor counts as a failure, the unknown model does not');
  });

  test('RepositoryIndex lists the model READY; RepositoryModelLoad reloads it, NOT_FOUND for another', (t) => {
    const info = served.server.info;
    t.deepEqual(report['RepositoryIndex'].models, [{ name: info.model!.name, version: info.model!.version, state: 'READY', reason: '' }]);
    t.is(report['RepositoryModelLoad'], 'OK');
    t.is(report['RepositoryModelLoadOther'], 'NOT_FOUND');
  });

  test('RepositoryModelUnload is refused with what to do instead (the server serves one model), NOT_FOUND for another; the model keeps serving', (t) => {
    t.is(report['RepositoryModelUnload'].code, 'FAILED_PRECONDITION');
    t.regex(report['RepositoryModelUnload'].details, /serves one model, .* does not unload it: stop the server/);
    t.is(report['RepositoryModelUnloadOther'], 'NOT_FOUND');
    t.deepEqual(report['ServerReadyAfterUnload'], { ready: true });
  });
}
