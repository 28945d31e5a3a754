/**
 * The zod schema of a duration in a policy or actuation file: a YAML number of seconds, or a
 * Prometheus duration string ("30s", "5m", "1h30m"). Parsing to milliseconds is
 * parseSecondsOrPromDuration in ./duration.ts; this only validates, with the parser's reason.
 */
import { z } from 'zod';
import { parsePromDuration } from './duration.ts';
import { errorMessage } from './errors.ts';

export const secondsOrPromDuration = () =>
  z.union([
    z.number().min(0),
    z.string().superRefine((s, ctx) => {
      try {
        parsePromDuration(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `a duration such as "30s", "5m", "1h30m" or a number of seconds: ${errorMessage(err)}` });
      }
    }),
  ]);
