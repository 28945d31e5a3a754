/**
 * A Node preload (`node --import ./bench/fleet/svc-dns.ts ...`) for the fleet bench's agent
 * processes: it resolves in-cluster Service names (`*.svc`, `*.svc.cluster.local`) to 127.0.0.1,
 * where the bench's Flink REST replay server answers for every job by its Host header. The agent's
 * code is unchanged: it builds `http://<name>-rest.<ns>.svc:<rest.port>` from each resource as it
 * would in a cluster and connects through Node's resolver, which this replaces for those names only.
 */
import dns from 'node:dns';

const SVC = /\.svc(\.cluster\.local)?\.?$/i;
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
const original = dns.lookup.bind(dns) as (hostname: string, options: unknown, callback: LookupCallback) => void;

function svcLookup(hostname: string, options: unknown, callback?: LookupCallback): void {
  const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
  const opts = typeof options === 'function' || options === undefined ? {} : options;
  if (!SVC.test(hostname)) {
    original(hostname, opts, cb);
    return;
  }
  const all = typeof opts === 'object' && opts !== null && (opts as dns.LookupAllOptions).all === true;
  process.nextTick(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
}

(dns as unknown as { lookup: typeof svcLookup }).lookup = svcLookup;
