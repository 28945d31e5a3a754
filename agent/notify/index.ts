/**
 * Public surface of alert delivery: the Notifier (Alertmanager API v2 and webhooks,
 * bounded queue, retries) and the wire helpers.
 */
export { Notifier, type NotifierOptions } from './notifier.ts';
export { rfc3339, toPostable, toWebhookBody, type PostableAlert, type WebhookBody } from './wire.ts';
