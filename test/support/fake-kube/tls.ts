/**
 * TLS material for the fake Kubernetes API server: a throwaway self-signed certificate for
 * 127.0.0.1, made with the `openssl` CLI (node:crypto can parse X.509 but cannot issue it).
 * The certificate doubles as the CA that the client trusts, exactly as a kubeconfig's
 * certificate-authority-data or an in-cluster ca.crt would be used.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSignedCert {
  certPem: string;
  keyPem: string;
}

let cached: SelfSignedCert | undefined;

/** Finds `openssl`; null when it is not installed. */
export function findOpenssl(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return 'openssl';
  } catch {
    return null;
  }
}

/** Issues (once per process) an EC P-256 certificate with SAN IP:127.0.0.1, valid for 2 days. */
export function selfSignedCertFor127(): SelfSignedCert {
  if (cached) return cached;
  const openssl = findOpenssl();
  if (openssl === null) throw new Error('fake-kube needs the openssl CLI to issue its TLS certificate; install openssl');
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(openssl, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=fake-kube-apiserver',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ], { stdio: 'ignore' });
    cached = { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
