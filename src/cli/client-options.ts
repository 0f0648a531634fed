/**
 * The options every client command shares to reach a secured server: TLS (`--tls`, `--tls-ca`),
 * mTLS (`--tls-cert` + `--tls-key`) and a bearer token (`--token-file`, or the ALEXNET_TOKEN
 * environment variable, so the token stays out of the shell history and the process list).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import type { ClientSecurity } from '../serve/client-call.js';
import { checkKeyPair, pemCertificates } from '../serve/tls-pem.js';

export interface ClientOptionValues {
  server: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tokenFile?: string;
}

export const TOKEN_ENV = 'ALEXNET_TOKEN';

const SERVER_HELP = 'server address; a comma list of IP:port (10.0.0.1:50051,10.0.0.2:50051) or dns:///host:port (every address the name resolves to) spreads calls over replicas (round_robin, UNAVAILABLE retried on another)';

export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--server <host:port>', SERVER_HELP, 'localhost:50051')
    .option('--tls', "connect with TLS, trusting the system's certificate authorities (implied by --tls-ca)")
    .option('--tls-ca <file>', "PEM certificate of the authority that signed the server's certificate")
    .option('--tls-cert <file>', 'PEM client certificate, for a server that requires one (mTLS; with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--token-file <file>', `a file holding the bearer token the server wants (--auth-tokens); default: the ${TOKEN_ENV} environment variable`);
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/**
 * The TLS files, checked here: grpc-js hands them to OpenSSL, which throws a bare
 * "key values mismatch" for a key of another certificate, and takes a CA file that holds no
 * certificate only to fail the handshake later with a message about the server.
 */
function tlsFiles(o: ClientOptionValues): NonNullable<ClientSecurity['tls']> {
  const ca = o.tlsCa ? read(o.tlsCa, '--tls-ca') : undefined;
  if (ca) pemCertificates(ca, { option: '--tls-ca', file: o.tlsCa! });
  if (!o.tlsCert) return ca ? { ca } : {};
  const cert = read(o.tlsCert, '--tls-cert');
  const key = read(o.tlsKey!, '--tls-key');
  checkKeyPair(cert, key, { option: '--tls-cert', file: o.tlsCert }, { option: '--tls-key', file: o.tlsKey! });
  return { ...(ca ? { ca } : {}), cert, key };
}

export function clientSecurity(o: ClientOptionValues, env: NodeJS.ProcessEnv = process.env): ClientSecurity {
  if (!!o.tlsCert !== !!o.tlsKey) throw new ConfigError('--tls-cert and --tls-key go together: give both for mTLS, or neither');
  const tls = o.tls || o.tlsCa || o.tlsCert ? tlsFiles(o) : undefined;
  let token = env[TOKEN_ENV]?.trim();
  if (o.tokenFile) {
    token = read(o.tokenFile, '--token-file').toString('utf8').split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
    if (!token) throw new ConfigError(`--token-file ${o.tokenFile} holds no token`);
    if (/\s/.test(token)) token = token.split(/\s+/).pop();
  }
  return { ...(tls ? { tls } : {}), ...(token ? { token } : {}) };
}
