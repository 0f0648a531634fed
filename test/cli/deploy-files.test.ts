/**
 * The Dockerfile and the Kubernetes manifests, read by their tools' parsers (no Docker engine
 * and no cluster here): each object validated against its schema (kubernetes-models), then what
 * the schema cannot see checked against the server itself: its flags (`serve --help`), the ports
 * it listens on, the health service names it registers (a real server, asked over gRPC).
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { SERVICE_NAME } from '../../src/serve/proto.js';
import { startServer } from '../../src/serve/server.js';
import { buildKustomization, debianPackageOf, debianPriority, debianRelease, DEPLOY, dockerfileStages, flagsOf, flagValue, jsonStrings, kustomizeBuild, kustomizeCommand, ROOT, serveFlags, type K8sObject } from '../deploy-manifests.js';
import { MODEL, quiet } from '../serve-fixtures.js';

const stages = dockerfileStages();
const runtime = stages.at(-1)!;
const of = (keyword: string, stage = runtime) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const base = buildKustomization(DEPLOY);
const overlays = { mtls: buildKustomization(path.join(DEPLOY, 'mtls')), modelRepo: buildKustomization(path.join(DEPLOY, 'model-repo')) };
const builds = [base, overlays.mtls, overlays.modelRepo];
const find = (objects: K8sObject[], kind: string, name?: string) => objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const deploymentOf = (objects: K8sObject[]) => find(objects, 'Deployment')[0]!;
const containerOf = (objects: K8sObject[]) => deploymentOf(objects).spec.template.spec.containers[0];
const cmd = jsonStrings(of('CMD')[0]!);

test('the Dockerfile builds in one stage (npm ci, tsc, dev dependencies pruned) and runs from a second on node:20-bookworm-slim', (t) => {
  t.true(stages.length >= 2, 'multi-stage');
  for (const s of stages) t.is(s.image, 'node:20-bookworm-slim', 'glibc, for onnxruntime and sharp');
  const build = stages.find((s) => s.name === 'build')!;
  const runs = of('RUN', build).map((i) => i.getArgumentsContent()!);
  const at = (re: RegExp) => runs.findIndex((r) => re.test(r));
  t.true(at(/\bnpm ci\b/) >= 0, 'npm ci');
  t.true(at(/\btsc -p \.$/) > at(/\bnpm ci\b/), 'npx tsc -p . after npm ci');
  t.true(at(/\bnpm prune --omit=dev\b/) > at(/\btsc -p \./), 'dev dependencies pruned after the build');
  const copied = of('COPY').map((c) => ({ from: (c as unknown as { getFromFlag(): { getValue(): string } | null }).getFromFlag()?.getValue(), args: c.getArguments().map((a) => a.getValue()) }));
  for (const what of ['dist', 'node_modules', 'package.json', 'proto']) {
    t.true(copied.some((c) => c.from === 'build' && c.args[0] === `/app/${what}`), `${what} copied from the build stage`);
  }
  t.true(copied.some((c) => c.args[0] === 'models'), 'the shipped model inside the image');
  t.true(existsSync(path.join(ROOT, 'models/fashion-mnist-mini/model.onnx')));
});

test('the image runs as a non-root user under tini, with /models and the index\'s /data volumes and both ports exposed', (t) => {
  const users = of('USER').map((u) => u.getArgumentsContent()!.split(':')[0]);
  t.true(users.length > 0, 'USER set in the runtime stage');
  t.false(['root', '0'].includes(users.at(-1)!), `runs as ${users.at(-1)}`);
  t.true(of('RUN').some((r) => /apt-get install\b.*\btini\b/.test(r.getArgumentsContent()!)), 'tini installed');
  const entry = jsonStrings(of('ENTRYPOINT')[0]!);
  t.regex(entry[0]!, /(^|\/)tini$/, 'tini is PID 1, so SIGTERM and SIGHUP reach node');
  t.deepEqual(entry.slice(1, 3), ['--', 'node']);
  const workdir = of('WORKDIR').at(-1)!.getArgumentsContent()!;
  t.is(entry[3], path.posix.join(workdir, 'dist/src/cli.js'), 'the CLI at the path dist is copied to');
  t.true(existsSync(path.join(ROOT, 'dist/src/cli.js')));
  t.is(cmd[0], 'serve');
  t.deepEqual(of('VOLUME').map((v) => v.getArgumentsContent()), ['/models', '/data']);
  // ImageSearch's index in a volume the server's user owns: the models' folders may be read-only.
  const index = flagValue(cmd, '--index');
  t.is(path.posix.dirname(index ?? ''), '/data', 'CMD keeps the index in /data');
  t.true(of('RUN').some((r) => new RegExp(`chown ${users.at(-1)}:\\S+ /data\\b`).test(r.getArgumentsContent()!)), '/data owned by the user the server runs as');
  const exposed = of('EXPOSE').flatMap((e) => e.getArguments().map((a) => Number(a.getValue())));
  t.deepEqual(exposed.sort(), [Number(flagValue(cmd, '--port')), Number(flagValue(cmd, '--metrics-port'))].sort(), 'EXPOSE = the gRPC and the metrics port of CMD');
  t.is(flagValue(cmd, '--host'), '0.0.0.0', 'reachable from outside the container');
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', '.git']) t.true(ignored.includes(p), `.dockerignore leaves out ${p}`);
});

test('every flag of the Dockerfile CMD and of the manifests\' args is one `alexnet serve --help` lists', async (t) => {
  const known = await serveFlags();
  t.true(known.has('--port') && known.has('--grace'), 'the help was read');
  const used = new Map<string, Set<string>>();
  const use = (flags: string[], where: string) => flags.forEach((f) => used.set(f, (used.get(f) ?? new Set()).add(where)));
  use(flagsOf(cmd), 'Dockerfile CMD');
  for (const b of builds) use(flagsOf(containerOf(b.objects).args), path.relative(ROOT, b.dir));
  const missing = [...used].filter(([f]) => !known.has(f)).map(([f, where]) => `${f} (${[...where].join(', ')})`);
  t.deepEqual(missing, [], 'flags serve does not have');
});

test('every object validates against its Kubernetes schema, in the base and in each overlay', (t) => {
  const models: Record<string, (o: K8sObject) => { validate(): void }> = {
    Deployment: (o) => new Deployment(o as never),
    Service: (o) => new Service(o as never),
    HorizontalPodAutoscaler: (o) => new HorizontalPodAutoscaler(o as never),
    PodDisruptionBudget: (o) => new PodDisruptionBudget(o as never),
    PersistentVolumeClaim: (o) => new PersistentVolumeClaim(o as never),
  };
  for (const b of builds) {
    t.deepEqual(b.missing, [], `${b.dir}: resources that do not exist`);
    t.deepEqual(b.unmatched, [], `${b.dir}: patches that match no object`);
    t.deepEqual(b.cycles, [], `${b.dir}: resources kustomize refuses as a cycle (an overlay inside its base)`);
    for (const o of b.objects) {
      if (o.kind === 'ServiceMonitor') continue; // a CRD: no model here; checked field by field below
      const model = models[o.kind];
      if (!model) return t.fail(`${b.dir}: no schema for ${o.kind}`);
      t.notThrows(() => model(o).validate(), `${path.relative(ROOT, b.dir)}: ${o.kind}/${o.metadata?.name}`);
    }
  }
  t.deepEqual(base.objects.map((o) => o.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'Service', 'ServiceMonitor']);
});

/** An object with its keys sorted at every level, so two builds compare whatever order their tool wrote. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;
const byKindAndName = (objects: K8sObject[]) => [...objects].sort((a, b) => `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`)).map(canonical);

const kustomize = kustomizeCommand();
(kustomize ? test : test.skip)(`kustomize itself (${kustomize?.join(' ') ?? 'neither kubectl nor kustomize is installed'}) builds the base and each overlay into the objects these tests check`, async (t) => {
  for (const b of builds) {
    const built = await kustomizeBuild(kustomize!, b.dir);
    t.is(built.error, undefined, `kubectl apply -k ${path.relative(ROOT, b.dir)}/ fails`);
    if (built.objects) t.deepEqual(byKindAndName(built.objects), byKindAndName(b.objects), path.relative(ROOT, b.dir) || 'deploy');
  }
});

/** README.md and every file under deploy/: the text users copy commands from. */
const docs = [path.join(ROOT, 'README.md'), ...readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' }).map((f) => path.join(DEPLOY, f)).filter((f) => f.endsWith('.yaml'))];
const release = debianRelease();
const baseRelease = /bookworm|bullseye|trixie/.exec(runtime.image)?.[0];
(release !== undefined && release === baseRelease ? test : test.skip)(`every program run inside the container (preStop, and 'kubectl exec <pod> -- PROG' in the README and deploy/) is in the image: node, what its Dockerfile installs, or Debian ${baseRelease}'s required packages (${release === baseRelease ? 'read from dpkg and apt here' : `this machine is not Debian ${baseRelease}`})`, (t) => {
  const programs = new Map<string, Set<string>>();
  const ran = (prog: string, where: string) => programs.set(path.posix.basename(prog), (programs.get(path.posix.basename(prog)) ?? new Set()).add(where));
  for (const b of builds) {
    const command: string[] | undefined = containerOf(b.objects).lifecycle?.preStop?.exec?.command;
    if (command) ran(command[0]!, `${path.relative(ROOT, b.dir) || 'deploy'} preStop`);
  }
  for (const file of docs) for (const m of readFileSync(file, 'utf8').matchAll(/kubectl exec \S+ -- (\S+)/g)) ran(m[1]!, path.relative(ROOT, file));
  t.true(programs.has('sleep'), 'the preStop command was read');
  // What the runtime stage installs: apt-get install's package names.
  const installed = of('RUN').flatMap((r) => [...r.getArgumentsContent()!.matchAll(/apt-get install([^&;]*)/g)].flatMap((m) => m[1]!.split(/\s+/).filter((w) => w && !w.startsWith('-'))));
  t.true(installed.includes('tini'));
  const missing: string[] = [];
  for (const [prog, where] of programs) {
    if (prog === 'node') continue; // the node image's own /usr/local/bin/node
    const pkg = debianPackageOf(prog);
    const priority = pkg && debianPriority(pkg);
    if (!pkg || (!installed.includes(pkg) && priority !== 'required')) {
      missing.push(`${prog} (${[...where].join(', ')}): ${pkg ? `in ${pkg}, priority ${priority}, which ${runtime.image} does not have` : 'no Debian package installs it'}`);
    }
  }
  t.deepEqual(missing, [], 'programs the container does not have');
});

test('the pod runs as the image\'s non-root user, read-only, without privilege escalation, with a writable /tmp', (t) => {
  const pod = deploymentOf(base.objects).spec.template.spec;
  const c = containerOf(base.objects);
  t.true(pod.securityContext.runAsNonRoot);
  t.is(pod.securityContext.runAsUser, 1000, 'uid 1000: the node image\'s user');
  t.true(['node', '1000'].includes(of('USER').at(-1)!.getArgumentsContent()!.split(':')[0]!), 'the Dockerfile\'s USER is that uid');
  t.false(c.securityContext.allowPrivilegeEscalation);
  t.true(c.securityContext.readOnlyRootFilesystem);
  const tmp = c.volumeMounts.find((m: K8sObject) => m.mountPath === '/tmp');
  t.truthy(tmp, '/tmp mounted');
  t.truthy(pod.volumes.find((v: K8sObject) => v.name === tmp?.name)?.emptyDir, '/tmp is an emptyDir');
});

/** The ports the server of these args listens on, by what they serve; the container's declared ports by name and number. */
function portsOf(c: K8sObject) {
  const args: string[] = c.args;
  const listens = { grpc: Number(flagValue(args, '--port') ?? 50051), metrics: Number(flagValue(args, '--metrics-port')) };
  const declared = new Map<string | number, number>(c.ports.flatMap((p: K8sObject) => [[p.name, p.containerPort], [p.containerPort, p.containerPort]]));
  return { listens, declared, resolve: (port: string | number) => declared.get(port) };
}

test('the container declares the ports the server listens on, and every probe reaches one of them', (t) => {
  for (const b of builds) {
    const where = path.relative(ROOT, b.dir) || 'deploy';
    const c = containerOf(b.objects);
    const { listens, declared, resolve } = portsOf(c);
    t.is(flagValue(c.args, '--host'), '0.0.0.0', `${where}: kubelet probes the pod's IP, not 127.0.0.1`);
    t.is(declared.get('grpc'), listens.grpc, `${where}: port grpc is --port`);
    t.is(declared.get('metrics'), listens.metrics, `${where}: port metrics is --metrics-port`);
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const probe = c[kind];
      t.truthy(probe, `${where}: ${kind}`);
      if (probe.grpc) t.is(probe.grpc.port, listens.grpc, `${where}: ${kind} calls gRPC health on the gRPC port`);
      else if (probe.httpGet) t.is(resolve(probe.httpGet.port), listens.metrics, `${where}: ${kind} GETs the metrics port`);
      else t.fail(`${where}: ${kind} is neither grpc nor httpGet`);
    }
    t.true(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 120, `${where}: the startup probe waits for the model to load`);
  }
});

test('the gRPC probes ask for health service names the server registers, and get SERVING from a real server', async (t) => {
  const c = containerOf(base.objects);
  t.is(c.readinessProbe.grpc.service, SERVICE_NAME);
  t.is(c.startupProbe.grpc.service, SERVICE_NAME);
  const names = [c.startupProbe, c.readinessProbe, c.livenessProbe].map((p: K8sObject) => p.grpc.service ?? '');
  const server = await startServer({ model: MODEL, port: 0, device: 'cpu', workers: 1, threads: 1, logger: quiet });
  const healthProto = fileURLToPath(new URL('../../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url));
  const Health = (grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, { enums: String })) as K8sObject).grpc.health.v1.Health;
  const h = new Health(server.address, grpc.credentials.createInsecure());
  try {
    for (const service of names) {
      const r = await new Promise<{ status: string }>((resolve, reject) => h.Check({ service }, (e: Error | null, res: { status: string }) => (e ? reject(e) : resolve(res))));
      t.is(r.status, 'SERVING', `health of '${service}'`);
    }
  } finally {
    h.close();
    await server.shutdown();
  }
});

test('stopping: the grace period covers the preStop sleep and the server\'s drain (--grace)', (t) => {
  for (const b of builds) {
    const pod = deploymentOf(b.objects).spec.template.spec;
    const c = containerOf(b.objects);
    const command: string[] = c.lifecycle.preStop.exec.command;
    t.regex(command[0]!, /(^|\/)sleep$/);
    const sleep = Number(command[1]);
    const grace = Number(flagValue(c.args, '--grace'));
    t.true(sleep > 0 && grace > 0, 'both set');
    t.true(pod.terminationGracePeriodSeconds > sleep + grace, `${pod.terminationGracePeriodSeconds} > ${sleep} + ${grace}`);
  }
});

test('the Services select the Deployment\'s pods and target ports it declares; the gRPC one is headless', (t) => {
  const deployment = deploymentOf(base.objects);
  const podLabels = deployment.spec.template.metadata.labels;
  t.like(podLabels, deployment.spec.selector.matchLabels, 'the Deployment selects its own pods');
  const { declared } = portsOf(containerOf(base.objects));
  const services = find(base.objects, 'Service');
  t.deepEqual(services.map((s) => s.metadata.name).sort(), ['alexnet-grpc', 'alexnet-metrics']);
  for (const s of services) {
    t.like(podLabels, s.spec.selector, `${s.metadata.name} selects the pods`);
    for (const p of s.spec.ports) t.true(declared.has(p.targetPort), `${s.metadata.name} targets port ${p.targetPort}, which the container declares`);
  }
  const grpcService = find(base.objects, 'Service', 'alexnet-grpc')[0]!;
  t.is(grpcService.spec.clusterIP, 'None', 'headless: DNS answers every pod, the client balances calls');
  // A headless Service's clients dial the pods directly: its port must be the container's.
  t.is(grpcService.spec.ports[0].port, declared.get('grpc'));
});

test('the HPA scales the Deployment on CPU; the ServiceMonitor scrapes the metrics Service by its labels and port name', (t) => {
  const deployment = deploymentOf(base.objects);
  const hpa = find(base.objects, 'HorizontalPodAutoscaler')[0]!;
  t.is(hpa.apiVersion, 'autoscaling/v2');
  t.like(hpa.spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
  t.true(hpa.spec.metrics.some((m: K8sObject) => m.type === 'Resource' && m.resource.name === 'cpu'));
  t.true(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas >= hpa.spec.minReplicas);
  // Kubernetes' HPA docs: with an HPA, leave spec.replicas out of the Deployment's manifest, or every
  // kubectl apply sets the count back to it, stopping the pods the HPA added.
  for (const b of builds) t.false('replicas' in deploymentOf(b.objects).spec, `${path.relative(ROOT, b.dir) || 'deploy'}: the Deployment sets replicas, which the HPA owns`);

  const monitor = find(base.objects, 'ServiceMonitor')[0]!;
  t.is(monitor.apiVersion, 'monitoring.coreos.com/v1');
  const selected = find(base.objects, 'Service').filter((s) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
  t.deepEqual(selected.map((s) => s.metadata.name), ['alexnet-metrics'], 'it selects the metrics Service and only it');
  t.deepEqual(monitor.spec.endpoints.map((e: K8sObject) => [e.port, e.path]), [['metrics', '/metrics']]);
  t.true(selected[0]!.spec.ports.some((p: K8sObject) => p.name === 'metrics'));
});

test('a drain or the autoscaler evicts one pod at a time (PodDisruptionBudget of the Deployment\'s pods), and the replicas spread over nodes', (t) => {
  const deployment = deploymentOf(base.objects);
  const podLabels = deployment.spec.template.metadata.labels;
  const [pdb] = find(base.objects, 'PodDisruptionBudget');
  t.is(pdb!.apiVersion, 'policy/v1');
  t.like(podLabels, pdb!.spec.selector.matchLabels, 'the budget selects the Deployment\'s pods');
  const hpa = find(base.objects, 'HorizontalPodAutoscaler')[0]!;
  // Evictions leave at least two pods serving at the HPA's floor.
  const unavailable = pdb!.spec.maxUnavailable ?? hpa.spec.minReplicas - pdb!.spec.minAvailable;
  t.true(unavailable >= 1 && hpa.spec.minReplicas - unavailable >= 2, `at most ${unavailable} of ${hpa.spec.minReplicas} pods evicted at once`);
  const spread = deployment.spec.template.spec.topologySpreadConstraints as K8sObject[];
  t.true(spread.some((c) => c.topologyKey === 'kubernetes.io/hostname'), 'spread over nodes');
  for (const c of spread) t.like(podLabels, c.labelSelector.matchLabels, `the ${c.topologyKey} spread counts the Deployment's pods`);
});

test('mTLS overlay: certificates from a Secret volume, probes over HTTP on the metrics port (kubelet\'s gRPC probe has no client certificate)', (t) => {
  const c = containerOf(overlays.mtls.objects);
  const pod = deploymentOf(overlays.mtls.objects).spec.template.spec;
  t.deepEqual(c.args.slice(0, containerOf(base.objects).args.length), containerOf(base.objects).args, 'the base args, then the TLS ones');
  for (const [flag, file] of [['--tls-cert', 'tls.crt'], ['--tls-key', 'tls.key'], ['--tls-client-ca', 'ca.crt']] as const) {
    const value = flagValue(c.args, flag)!;
    t.is(path.posix.basename(value), file, flag);
    const mount = c.volumeMounts.find((m: K8sObject) => path.posix.dirname(value) === m.mountPath);
    t.truthy(pod.volumes.find((v: K8sObject) => v.name === mount?.name)?.secret, `${flag} ${value} is in a mounted Secret`);
  }
  t.deepEqual([c.startupProbe, c.readinessProbe, c.livenessProbe].map((p: K8sObject) => p.httpGet?.path), ['/readyz', '/readyz', '/healthz']);
});

test('model-repo overlay: --model-dir is the mount of the PersistentVolumeClaim it creates, and --watch-models is on', (t) => {
  const c = containerOf(overlays.modelRepo.objects);
  const pod = deploymentOf(overlays.modelRepo.objects).spec.template.spec;
  t.true(c.args.includes('--watch-models'));
  const mount = c.volumeMounts.find((m: K8sObject) => m.mountPath === flagValue(c.args, '--model-dir'));
  t.truthy(mount, '--model-dir is mounted');
  const claim = pod.volumes.find((v: K8sObject) => v.name === mount.name)?.persistentVolumeClaim?.claimName;
  t.deepEqual(find(overlays.modelRepo.objects, 'PersistentVolumeClaim').map((p) => p.metadata.name), [claim]);
  t.is(mount.mountPath, jsonStrings(of('VOLUME')[0]!)[0] ?? of('VOLUME')[0]!.getArgumentsContent(), 'the image\'s VOLUME');
});
