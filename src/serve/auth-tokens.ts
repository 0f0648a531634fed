/**
 * Bearer tokens (`serve --auth-tokens FILE`): a call without `authorization: Bearer <token>`
 * naming one of the file's tokens is answered UNAUTHENTICATED by the auth interceptor before any
 * handler or decoder runs. grpc.health.v1 stays open, so orchestrators' probes need no token.
 *
 * The file: one token per line, optionally preceded by a name used in logs (`<name> <token>`);
 * blank lines and lines starting with # are skipped. Tokens are kept only as SHA-256 digests and
 * compared in constant time against every digest (no early exit); a token is never logged. The
 * file is re-read when it changes (a rotated Kubernetes Secret included); a file that no longer
 * parses keeps the tokens already loaded, with a warning.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../errors.js';
import type { Logger } from './log.js';
import { requestIdOf, TOKEN_NAME } from './request-id.js';

/** Shortest token accepted: anything shorter can be guessed. */
export const MIN_TOKEN_LENGTH = 16;
/** Calls to these services need no token (health probes). */
const OPEN_SERVICES = ['/grpc.health.v1.Health/'];

interface Token {
  name: string;
  digest: Buffer;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export function parseTokens(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    if (fields.length > 2) throw new ConfigError(`${file} line ${i + 1}: write a token, or a name and a token, separated by a space`);
    const token = fields[fields.length - 1]!;
    if (token.length < MIN_TOKEN_LENGTH) throw new ConfigError(`${file} line ${i + 1}: the token has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`);
    tokens.push({ name: fields.length === 2 ? fields[0]! : `line ${i + 1}`, digest: digest(token) });
  });
  if (tokens.length === 0) throw new ConfigError(`${file} holds no token: write one per line`);
  return tokens;
}

export class AuthTokens {
  private tokens: Token[];

  private constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {
    this.tokens = AuthTokens.read(file);
  }

  private static read(file: string): Token[] {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read the tokens file ${file}: ${(e as Error).message}`);
    }
    return parseTokens(text, file);
  }

  /** Load the file (a ConfigError if it is missing or holds no valid token) and follow its changes. */
  static open(file: string, log: Logger): AuthTokens {
    const t = new AuthTokens(file, log);
    watchFile(file, { interval: 1000, persistent: false }, () => t.reread());
    return t;
  }

  get count(): number {
    return this.tokens.length;
  }

  reread(): void {
    try {
      this.tokens = AuthTokens.read(this.file);
      this.log.info('tokens reloaded', { file: this.file, tokens: this.tokens.length });
    } catch (e) {
      this.log.warn('tokens file not reloaded: the tokens loaded before stay valid', { file: this.file, problem: (e as Error).message });
    }
  }

  close(): void {
    unwatchFile(this.file);
  }

  /** The name of the token an `authorization` value carries, or undefined; the same work for every value. */
  check(authorization: unknown): string | undefined {
    const m = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    const presented = digest(m?.[1] ?? '');
    let found: string | undefined;
    for (const t of this.tokens) if (timingSafeEqual(presented, t.digest) && m) found ??= t.name;
    return found;
  }

  /** The interceptor: UNAUTHENTICATED before the handler for a call without a valid token (health excepted). */
  interceptor(): grpc.ServerInterceptor {
    return (method, call) => {
      if (OPEN_SERVICES.some((s) => method.path.startsWith(s))) return new grpc.ServerInterceptingCall(call);
      return new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (md, pass) => {
              const sent = md.get('authorization')[0];
              const name = this.check(sent);
              if (name !== undefined) {
                md.set(TOKEN_NAME, name);
                return pass(md);
              }
              this.log.debug('call refused: no valid token', { method: method.path, peer: call.getPeer(), 'x-request-id': requestIdOf(md) });
              // Whether a token came matters to the caller (a wrong one is to be replaced, not added); which one never is told.
              const details = sent === undefined ? 'this server needs a token: send the metadata authorization: Bearer <token> (the CLI: --token-file or ALEXNET_TOKEN)' : 'the token sent is not one this server accepts (revoked, mistyped, or not "Bearer <token>")';
              call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details });
            },
          }),
      });
    };
  }
}
