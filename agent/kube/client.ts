/**
 * Kubernetes client wiring for the agent: loads a KubeConfig (in-cluster service account,
 * a kubeconfig file, or the default chain), builds the typed API clients the agent uses, and
 * turns client-node's ApiException into a FlowpilotError with a stable code (403 →
 * FP_KUBE_FORBIDDEN, 409 → FP_KUBE_CONFLICT, ...) carrying the server's Status message.
 * Every call is bounded by a timeout. Patch calls must pass `MERGE_PATCH`: client-node
 * otherwise sends JSON Patch, which a merge-patch body is not.
 */
import type {
  KubeConfig, AppsV1Api, CoreV1Api, CoordinationV1Api, EventsV1Api, CustomObjectsApi, ConfigurationOptions,
} from '@kubernetes/client-node';
import { kubeLib, kubeLibIfLoaded } from './lib.ts';
import { FlowpilotError, type ErrorCode } from '../../common/errors.ts';

export type KubeConnection =
  | { kind: 'in-cluster'; pathPrefix?: string }
  | { kind: 'file'; path: string; context?: string }
  | { kind: 'default' };

export interface KubeClients {
  config: KubeConfig;
  namespace: string;
  apps: AppsV1Api;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
  custom: CustomObjectsApi;
  /** Upper bound on each API call, ms. */
  timeoutMs: number;
}

let mergePatch: ConfigurationOptions | undefined;
function mergePatchOptions(): ConfigurationOptions {
  const k = kubeLib();
  return (mergePatch ??= k.setHeaderOptions('Content-Type', k.PatchStrategy.MergePatch));
}

/**
 * The request option that makes a patch call send application/merge-patch+json. Its fields are
 * built on first read, so importing this module does not load client-node (lib.ts).
 */
export const MERGE_PATCH: ConfigurationOptions = {
  get middleware() {
    return mergePatchOptions().middleware;
  },
  get middlewareMergeStrategy() {
    return mergePatchOptions().middlewareMergeStrategy;
  },
};

export function loadKubeConfig(conn: KubeConnection): KubeConfig {
  const kc = new (kubeLib().KubeConfig)();
  try {
    if (conn.kind === 'in-cluster') kc.loadFromCluster(conn.pathPrefix);
    else if (conn.kind === 'file') {
      kc.loadFromFile(conn.path);
      if (conn.context) kc.setCurrentContext(conn.context);
    } else kc.loadFromDefault();
  } catch (err) {
    throw new FlowpilotError('FP_KUBE_CONFIG', `cannot load the Kubernetes config (${conn.kind}${conn.kind === 'file' ? ` ${conn.path}` : ''}): ${String(err)}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) {
    throw new FlowpilotError('FP_KUBE_CONFIG', `the Kubernetes config (${conn.kind}) has no current cluster; set a current-context or run in a pod with a service account`);
  }
  return reuseKubeDispatchers(kc);
}

/** A Buffer (CA, certificate, key) as text for a cache key; anything else as JSON does. */
function keyPart(_k: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data).toString('base64');
  }
  return v;
}

/**
 * client-node (2.0) builds a new undici Agent for every API call (applySecurityAuthentication →
 * createDispatcher), so every call opened and negotiated its own TLS connection and left it
 * open until undici's keep-alive timeout: in fleet mode, a few calls per job per interval, most
 * of a replica's CPU (BENCHMARKS.md, "Fleet"). This makes the KubeConfig reuse one dispatcher
 * while the TLS options it is built from stay the same (they are read again on each call, so a
 * rotated certificate or CA file gives a new dispatcher, and the previous one is closed once its
 * requests end). Exported for the test; createKubeClients and loadKubeConfig apply it.
 */
export function reuseKubeDispatchers(config: KubeConfig): KubeConfig {
  type Factory = (cluster: unknown, agentOptions: unknown) => { close(): Promise<void> } | undefined;
  const kc = config as unknown as { createDispatcher?: Factory; createDispatcherOptions?: (cluster: unknown, agentOptions: unknown) => unknown; reused?: true };
  const original = kc.createDispatcher;
  const options = kc.createDispatcherOptions;
  if (typeof original !== 'function' || typeof options !== 'function' || kc.reused) return config;
  let cached: { key: string; dispatcher: ReturnType<Factory> } | null = null;
  kc.createDispatcher = function (this: unknown, cluster, agentOptions) {
    const key = JSON.stringify(options.call(this, cluster, agentOptions), keyPart);
    if (cached?.key === key) return cached.dispatcher;
    const previous = cached?.dispatcher;
    cached = { key, dispatcher: original.call(this, cluster, agentOptions) };
    // (close lets the requests in flight, watches included, end first)
    void previous?.close().catch(() => undefined);
    return cached.dispatcher;
  };
  kc.reused = true;
  return config;
}

export function createKubeClients(conn: KubeConnection, opts: { namespace?: string; timeoutMs?: number } = {}): KubeClients {
  const config = loadKubeConfig(conn);
  const { AppsV1Api, CoreV1Api, CoordinationV1Api, EventsV1Api, CustomObjectsApi } = kubeLib();
  const ctx = config.getContextObject(config.getCurrentContext());
  const namespace = opts.namespace ?? ctx?.namespace ?? 'default';
  return {
    config, namespace,
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    events: config.makeApiClient(EventsV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    timeoutMs: opts.timeoutMs ?? 10_000,
  };
}

const CODES: Record<number, ErrorCode> = {
  401: 'FP_KUBE_UNAUTHORIZED',
  403: 'FP_KUBE_FORBIDDEN',
  404: 'FP_KUBE_NOT_FOUND',
  409: 'FP_KUBE_CONFLICT',
  415: 'FP_KUBE_UNSUPPORTED_MEDIA_TYPE',
  422: 'FP_KUBE_INVALID',
};

function statusOf(body: unknown): { message?: string; reason?: string } {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return { message: b as string };
    }
  }
  if (typeof b === 'object' && b !== null) {
    const o = b as Record<string, unknown>;
    const out: { message?: string; reason?: string } = {};
    if (typeof o.message === 'string') out.message = o.message;
    if (typeof o.reason === 'string') out.reason = o.reason;
    return out;
  }
  return {};
}

/** Maps any error of a Kubernetes call to a FlowpilotError; `what` says which call, for the message. */
export function kubeError(err: unknown, what: string): FlowpilotError {
  if (err instanceof FlowpilotError) return err;
  // No ApiException can exist before client-node is loaded.
  const ApiException = kubeLibIfLoaded()?.ApiException;
  if (ApiException !== undefined && err instanceof ApiException) {
    const code = CODES[err.code] ?? 'FP_KUBE_API';
    const st = statusOf(err.body);
    const hint = err.code === 403 ? ' Grant this verb to the agent\'s ServiceAccount in its Role (see the Helm chart\'s rbac values).' : '';
    return new FlowpilotError(code, `${what}: HTTP ${err.code}${st.reason ? ` ${st.reason}` : ''}: ${st.message ?? err.message}.${hint}`,
      { cause: err, details: { httpStatus: err.code, reason: st.reason } });
  }
  return new FlowpilotError('FP_KUBE_UNREACHABLE', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Runs one API call with a timeout and maps its errors. */
export async function kubeCall<T>(clients: Pick<KubeClients, 'timeoutMs'>, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FlowpilotError('FP_KUBE_TIMEOUT', `${what}: no answer within ${clients.timeoutMs} ms`)), clients.timeoutMs);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (err) {
    throw kubeError(err, what);
  } finally {
    clearTimeout(timer);
  }
}

export function isKubeCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof FlowpilotError && err.code === code;
}
