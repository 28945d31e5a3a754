/**
 * The notifier: takes alerts from the rule manager (send() returns at once), applies
 * external labels (never overriding an alert's own labels, like Prometheus), keeps them
 * in a bounded queue that drops the oldest when full, and ships batches in the
 * background to every Alertmanager (POST /api/v2/alerts) and webhook, each with a
 * timeout and retries with exponential backoff, over TLS / mutual TLS and with basic auth or a
 * bearer token when an http_config says so. One batch is in flight at a time, so
 * a slow receiver delays later batches but never the evaluation that produced them.
 */
import { request, type Dispatcher } from 'undici';
import { HttpClientConfig, type HttpConfigInput } from '../http/http-config.ts';
import { Counter, Gauge, Registry } from 'prom-client';
import { errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/log.ts';
import { labelsFromRecord } from '../tsdb/index.ts';
import type { AlertSink } from '../rules/manager.ts';
import type { NotifierAlert } from '../rules/types.ts';
import { toPostable, toWebhookBody } from './wire.ts';

export interface NotifierOptions {
  /** Alertmanager base URLs, e.g. http://127.0.0.1:9093 (the path /api/v2/alerts is appended). */
  alertmanagers?: string[];
  /** Webhook URLs that receive a JSON POST per batch. */
  webhooks?: string[];
  /** Prometheus http_config for the Alertmanagers: TLS, mutual TLS, basic auth, bearer token. */
  httpConfig?: HttpConfigInput;
  /** The same for the webhooks (kept apart so Alertmanager credentials never reach a webhook). */
  webhookHttpConfig?: HttpConfigInput;
  externalLabels?: Record<string, string>;
  externalURL?: string;
  /** Default 10000 (Prometheus's --alertmanager.notification-queue-capacity). */
  queueCapacity?: number;
  /** Default 256 (Prometheus's notifier.DefaultMaxBatchSize). */
  maxBatchSize?: number;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts after the first on network errors and 5xx/429. Default 2. */
  retries?: number;
  /** First backoff; doubles per retry. Default 200 ms. */
  backoffMs?: number;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
}

interface Target {
  kind: 'alertmanager' | 'webhook';
  url: string;
  http: HttpClientConfig;
  dispatcher: Dispatcher | undefined;
}

export class Notifier implements AlertSink {
  private readonly opts: NotifierOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly targets: Target[];
  private readonly dispatchers: Dispatcher[];
  private queue: NotifierAlert[] = [];
  private readonly capacity: number;
  private sending: Promise<void> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  readonly registry: Registry;
  private readonly m;

  constructor(opts: NotifierOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.capacity = opts.queueCapacity ?? 10_000;
    const amHttp = new HttpClientConfig(opts.httpConfig, 'alerting.httpConfig');
    const hookHttp = new HttpClientConfig(opts.webhookHttpConfig, 'alerting.webhookHttpConfig');
    const amDispatcher = amHttp.dispatcher();
    const hookDispatcher = hookHttp.dispatcher();
    this.dispatchers = [amDispatcher, hookDispatcher].filter((d): d is Dispatcher => d !== undefined);
    this.targets = [
      ...(opts.alertmanagers ?? []).map((u) => ({ kind: 'alertmanager' as const, url: `${u.replace(/\/$/, '')}/api/v2/alerts`, http: amHttp, dispatcher: amDispatcher })),
      ...(opts.webhooks ?? []).map((u) => ({ kind: 'webhook' as const, url: u, http: hookHttp, dispatcher: hookDispatcher })),
    ];
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    const self = this;
    this.m = {
      sent: new Counter({ name: 'flowpilot_notifications_sent_total', help: 'Alerts delivered, per receiver.', labelNames: ['receiver'], registers }),
      errors: new Counter({ name: 'flowpilot_notifications_errors_total', help: 'Alerts that could not be delivered after retries, per receiver.', labelNames: ['receiver'], registers }),
      dropped: new Counter({ name: 'flowpilot_notifications_dropped_total', help: 'Alerts dropped because the queue was full.', registers }),
    };
    new Gauge({ name: 'flowpilot_notifications_queue_length', help: 'Alerts waiting to be sent.', registers, collect() { this.set(self.queue.length); } });
    new Gauge({ name: 'flowpilot_notifications_queue_capacity', help: 'Size of the alert queue.', registers, collect() { this.set(self.capacity); } });
  }

  get queueLength(): number {
    return this.queue.length;
  }

  /** Queues alerts and returns at once. */
  send(alerts: NotifierAlert[]): void {
    if (this.stopped || alerts.length === 0 || this.targets.length === 0) return;
    const ext = this.opts.externalLabels ?? {};
    for (const a of alerts) {
      const labels: Record<string, string> = { ...a.labels };
      for (const [k, v] of Object.entries(ext)) if (!labels[k]) labels[k] = v;
      this.queue.push({ ...a, labels: labelsFromRecord(labels) });
    }
    if (this.queue.length > this.capacity) {
      const drop = this.queue.length - this.capacity;
      this.queue.splice(0, drop);
      this.m.dropped.inc(drop);
      this.log.warn({ dropped: drop }, 'alert queue full, dropped the oldest alerts');
    }
    this.kick();
  }

  private kick(): void {
    if (this.sending || this.stopped) return;
    this.sending = this.drainLoop().finally(() => {
      this.sending = null;
      if (this.queue.length > 0 && !this.stopped) this.kick();
    });
  }

  private async drainLoop(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.splice(0, this.opts.maxBatchSize ?? 256);
      await Promise.all(this.targets.map((t) => this.deliver(t, batch)));
    }
  }

  private async deliver(t: Target, batch: NotifierAlert[]): Promise<void> {
    const body = t.kind === 'alertmanager'
      ? JSON.stringify(batch.map(toPostable))
      : JSON.stringify(toWebhookBody(batch, this.now(), 'flowpilot', this.opts.externalURL ?? ''));
    const retries = this.opts.retries ?? 2;
    let delay = this.opts.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      let retryable = true;
      let why: string;
      try {
        const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]);
        const res = await request(t.url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...t.http.headers() },
          signal,
          ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}),
        });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.m.sent.inc({ receiver: t.url }, batch.length);
          return;
        }
        retryable = res.statusCode >= 500 || res.statusCode === 429;
        why = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
      } catch (err) {
        why = errorMessage(err);
        if (this.stopped) retryable = false;
      }
      if (!retryable || attempt >= retries) {
        this.m.errors.inc({ receiver: t.url }, batch.length);
        this.log.error({ receiver: t.url, alerts: batch.length, attempts: attempt + 1 }, `sending alerts failed: ${why}`);
        return;
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay *= 2;
    }
  }

  /** Waits until the queue is empty (or timeoutMs passes). */
  async flush(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.sending || this.queue.length > 0) && Date.now() < deadline) {
      await Promise.race([this.sending ?? Promise.resolve(), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /** Optionally drains, then cancels any request in flight. */
  async stop(drainMs = 0): Promise<void> {
    if (drainMs > 0) await this.flush(drainMs);
    this.stopped = true;
    this.abort.abort();
    await this.sending?.catch(() => undefined);
    await Promise.all(this.dispatchers.map((d) => d.close().catch(() => undefined)));
  }
}
