/**
 * Test PKI made with the openssl CLI in a temporary directory: a CA, a server certificate for
 * 127.0.0.1 (and localhost), a client certificate signed by the CA, and a self-signed client
 * certificate the CA did not sign. EC P-256 keys keep it fast.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Self-signed, not by the CA. */
  rogueCert: string;
  rogueKey: string;
  /** File contents, for clients that take PEM text. */
  pem(file: string): string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function keyPair(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
}

/** Signs `name`.csr with the CA, with the given extensions. */
function sign(dir: string, name: string, subject: string, ext: string): void {
  keyPair(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'fp-pki-'));
  keyPair(dir, 'ca');
  openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=flowpilot test CA', '-days', '2', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt']);
  sign(dir, 'server', '/CN=127.0.0.1', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  sign(dir, 'client', '/CN=flowpilot-client', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:client.flowpilot.test,URI:spiffe://flowpilot/client\n');
  keyPair(dir, 'rogue');
  openssl(dir, ['req', '-x509', '-new', '-key', 'rogue.key', '-subj', '/CN=rogue', '-days', '2', '-sha256', '-addext', 'subjectAltName=DNS:client.flowpilot.test', '-out', 'rogue.crt']);
  const f = (n: string): string => join(dir, n);
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    rogueCert: f('rogue.crt'),
    rogueKey: f('rogue.key'),
    pem: (file) => readFileSync(file, 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
