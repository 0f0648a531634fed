/**
 * TLS channel credentials that send no server name (SNI) to an IP address. grpc-js sets the TLS
 * `servername` to the target's host whatever it is; RFC 6066 allows only DNS names there, and
 * Node prints DEP0123 in every process that connects to an IP with one. Without `servername`,
 * Node checks the server's certificate against `host` instead (tls.connect verifies
 * `servername || host`), and grpc-js sets `host` to the same address: the IP is still checked
 * against the certificate's IP SANs, and a certificate for another address is still refused.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

export class IpWithoutServerName extends grpc.ChannelCredentials {
  constructor(private readonly inner: grpc.ChannelCredentials) {
    super();
  }

  _isSecure(): boolean {
    return this.inner._isSecure();
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other instanceof IpWithoutServerName && this.inner._equals(other.inner);
  }

  _createSecureConnector(target: grpc.experimental.GrpcUri, options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
    const connector = this.inner._createSecureConnector(target, options, callCredentials);
    // grpc-js 1.14 keeps the options it passes to tls.connect on the connector, made for this
    // connector alone. If a later version moves them, this does nothing and DEP0123 comes back
    // (test/contract/tls-client.test.ts says so); verification is never weakened.
    const tlsOptions = (connector as unknown as { connectionOptions?: ConnectionOptions }).connectionOptions;
    if (tlsOptions && typeof tlsOptions.servername === 'string' && isIP(tlsOptions.servername)) delete tlsOptions.servername;
    return connector;
  }
}
