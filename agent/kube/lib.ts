/**
 * Loads @kubernetes/client-node on first use instead of at import time. The library and its
 * generated models take about 57 MB of RSS and half a second to load; an agent that neither
 * discovers pods nor acts on Kubernetes never pays for them. Node 24 loads the library's ES
 * module synchronously through require(), so callers keep synchronous signatures.
 */
import { createRequire } from 'node:module';
import type * as KubeLib from '@kubernetes/client-node';

const requireHere = createRequire(import.meta.url);
let lib: typeof KubeLib | undefined;

/** The client-node module, loaded now if it was not yet. */
export function kubeLib(): typeof KubeLib {
  return (lib ??= requireHere('@kubernetes/client-node') as typeof KubeLib);
}

/** The client-node module if something already loaded it, else undefined (nothing is loaded). */
export function kubeLibIfLoaded(): typeof KubeLib | undefined {
  return lib;
}
