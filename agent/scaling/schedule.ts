/**
 * Cron schedules from the policy: windows that start at each cron match and last `duration`.
 * Inside a window a schedule can raise the floor, lower the ceiling of vertex parallelism,
 * or black out rescaling. A window is active at t when a cron match lies in (t - duration, t].
 */
import { CronTime } from 'cron';
import type { Schedule } from './policy-schema.ts';
import { seconds } from './policy-schema.ts';

const cache = new Map<string, CronTime>();
function cronTime(expr: string, tz: string): CronTime {
  const key = `${tz}\u0000${expr}`;
  let c = cache.get(key);
  if (!c) {
    c = new CronTime(expr, tz);
    cache.set(key, c);
  }
  return c;
}

export function isActive(s: Schedule, now: number): boolean {
  const dur = seconds(s.duration) * 1000;
  const next = cronTime(s.cron, s.timeZone).getNextDateFrom(new Date(now - dur - 1));
  return next.toMillis() <= now;
}

export interface ScheduleEffect {
  floor: Record<string, number>;
  ceiling: Record<string, number>;
  blackout?: string;
  active: string[];
}

export function scheduleEffect(schedules: readonly Schedule[], now: number, vertexIds: readonly string[]): ScheduleEffect {
  const eff: ScheduleEffect = { floor: {}, ceiling: {}, active: [] };
  for (const s of schedules) {
    if (!isActive(s, now)) continue;
    eff.active.push(s.name);
    if (s.blackout && !eff.blackout) eff.blackout = s.name;
    for (const id of vertexIds) {
      const f = s.floor?.[id] ?? s.floor?.['*'];
      if (f !== undefined) eff.floor[id] = Math.max(eff.floor[id] ?? 0, f);
      const c = s.ceiling?.[id] ?? s.ceiling?.['*'];
      if (c !== undefined) eff.ceiling[id] = Math.min(eff.ceiling[id] ?? Number.POSITIVE_INFINITY, c);
    }
  }
  return eff;
}
