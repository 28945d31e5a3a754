/**
 * A prom-client registry that publishes samples under the names and labels of Flink's
 * Prometheus reporter: `flink_<logical scope>_<metric>` with every character outside
 * [a-zA-Z0-9:_] replaced by '_' in names and label values, help text
 * `"<metric> (scope: <logical scope>)"`, and every Flink metric type exported as a gauge.
 * Families are created on first sight and refreshed from live collectors on every scrape, so
 * tasks that come and go appear and disappear with their label sets.
 */
import { Gauge, Registry } from 'prom-client';

/** `flink_` + scope; e.g. 'jobmanager', 'jobmanager_job', 'taskmanager', 'taskmanager_job_task', 'taskmanager_job_task_operator'. */
export type LogicalScope = string;

export interface FlinkSample {
  scope: LogicalScope;
  /** Flink's metric id within the scope, e.g. 'Status.JVM.Memory.Heap.Used' or 'numRecordsIn'. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type SampleCollector = () => Iterable<FlinkSample>;

/** Flink's CHARACTER_FILTER. */
export function filterChars(s: string): string {
  return s.replace(/[^a-zA-Z0-9:_]/g, '_');
}

export function prometheusName(scope: LogicalScope, name: string): string {
  return `flink_${filterChars(scope)}_${filterChars(name)}`;
}

export class FlinkRegistry extends Registry {
  private readonly collectors: SampleCollector[] = [];
  private readonly families = new Map<string, { gauge: Gauge; labelNames: string[] }>();

  addCollector(collector: SampleCollector): void {
    this.collectors.push(collector);
  }

  /** Refreshes every family from the collectors, then renders. */
  override async metrics(): Promise<string> {
    this.refresh();
    return super.metrics();
  }

  refresh(): void {
    for (const f of this.families.values()) f.gauge.reset();
    for (const collect of this.collectors) {
      for (const s of collect()) {
        const full = prometheusName(s.scope, s.name);
        let family = this.families.get(full);
        if (!family) {
          const labelNames = Object.keys(s.labels).map(filterChars).sort();
          family = {
            gauge: new Gauge({ name: full, help: `${s.name} (scope: ${s.scope})`, labelNames, registers: [this] }),
            labelNames,
          };
          this.families.set(full, family);
        }
        const labels: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.labels)) labels[filterChars(k)] = filterChars(v);
        // A family keeps the label names it was created with; a sample with others is skipped, not fatal to the scrape.
        if (Object.keys(labels).length !== family.labelNames.length || family.labelNames.some((n) => !(n in labels))) continue;
        if (Number.isFinite(s.value) || Number.isNaN(s.value)) family.gauge.set(labels, s.value);
        else family.gauge.set(labels, s.value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE);
      }
    }
  }
}
