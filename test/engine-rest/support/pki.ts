/**
 * Throwaway PKI for the REST TLS tests, issued with the `openssl` CLI (node:crypto cannot issue
 * X.509): a CA, a server certificate for 127.0.0.1 signed by it (its key also written encrypted
 * with a passphrase), a client certificate signed by the same CA, and a client certificate from
 * a second, untrusted CA. Files are PEM, as security.ssl.rest.keystore / truststore expect:
 * the keystore PEM holds the key followed by the certificate.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  /** CA certificate (the truststore). */
  caCert: string;
  /** Server key + certificate (the keystore). */
  serverKeystore: string;
  /** The same with the key encrypted under `passphrase`. */
  serverKeystoreEncrypted: string;
  passphrase: string;
  client: { key: string; cert: string };
  rogueClient: { key: string; cert: string };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function caIn(dir: string, name: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  return { key, cert };
}

function leaf(dir: string, name: string, ca: { key: string; cert: string }, ext: string): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext}\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile]);
  return { key, cert };
}

/** Issues the whole set into `dir`. */
export function issuePki(dir: string): Pki {
  const ca = caIn(dir, 'flowpilot-test-ca');
  const rogueCa = caIn(dir, 'rogue-ca');
  const server = leaf(dir, 'server', ca, 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost\nextendedKeyUsage=serverAuth');
  const client = leaf(dir, 'client', ca, 'extendedKeyUsage=clientAuth');
  const rogueClient = leaf(dir, 'rogue-client', rogueCa, 'extendedKeyUsage=clientAuth');
  const passphrase = 'correct horse battery staple';
  const encKey = join(dir, 'server-enc.key');
  openssl(['pkcs8', '-topk8', '-in', server.key, '-out', encKey, '-v2', 'aes-256-cbc', '-passout', `pass:${passphrase}`]);
  const serverKeystore = join(dir, 'server-keystore.pem');
  writeFileSync(serverKeystore, readFileSync(server.key, 'utf8') + readFileSync(server.cert, 'utf8'));
  const serverKeystoreEncrypted = join(dir, 'server-keystore-enc.pem');
  writeFileSync(serverKeystoreEncrypted, readFileSync(encKey, 'utf8') + readFileSync(server.cert, 'utf8'));
  return { dir, caCert: ca.cert, serverKeystore, serverKeystoreEncrypted, passphrase, client, rogueClient };
}
