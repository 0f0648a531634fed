/** Unit tier: the CLI's --server turned into a grpc-js target, and the service config every client channel gets. */
import test from 'ava';
import { ConfigError } from '../../src/errors.js';
import { channelOptions } from '../../src/serve/client-call.js';
import { channelTarget } from '../../src/serve/fleet-config.js';

test('a single address or a target with a scheme passes through unchanged', (t) => {
  for (const s of ['localhost:50051', '127.0.0.1:50051', '[::1]:50051', 'dns:///alexnet-grpc:50051', 'dns:alexnet-grpc:50051', 'ipv4:10.0.0.1:1,10.0.0.2:2', 'unix:/tmp/a.sock']) {
    t.is(channelTarget(s), s);
  }
});

test('a comma list of IP addresses becomes an ipv4: or ipv6: target, one address per replica', (t) => {
  t.is(channelTarget('127.0.0.1:5001, 127.0.0.1:5002,10.1.2.3:50051'), 'ipv4:127.0.0.1:5001,127.0.0.1:5002,10.1.2.3:50051');
  t.is(channelTarget('[::1]:5001,[fd00::2]:5002'), 'ipv6:[::1]:5001,[fd00::2]:5002');
});

test('a list with a name, a missing port or mixed families is refused with what to write instead', (t) => {
  const named = t.throws(() => channelTarget('alexnet-0:50051,alexnet-1:50051'), { instanceOf: ConfigError });
  t.regex(named!.message, /dns:\/\/\/alexnet-0:50051/);
  t.throws(() => channelTarget('127.0.0.1,127.0.0.2:1'), { instanceOf: ConfigError, message: /not host:port/ });
  t.throws(() => channelTarget('127.0.0.1:1,[::1]:2'), { instanceOf: ConfigError, message: /mixes IPv4 and IPv6/ });
});

test('every client channel gets round_robin and a retry of UNAVAILABLE on both services; the caller may override it', (t) => {
  const config = JSON.parse(channelOptions({})['grpc.service_config'] as string);
  t.deepEqual(config.loadBalancingConfig, [{ round_robin: {} }]);
  const [method] = config.methodConfig;
  t.deepEqual(method.name.map((n: { service: string }) => n.service).sort(), ['alexnet.v1.AlexNet', 'alexnet.v1.ImageSearch']);
  t.deepEqual(method.retryPolicy.retryableStatusCodes, ['UNAVAILABLE']);
  t.is(method.retryPolicy.maxAttempts, 4);
  t.is(channelOptions({ 'grpc.service_config': '{}' })['grpc.service_config'], '{}');
});
