// Reusable zod schemas for query parameters. Each rejects bad input with a
// message the error handler prefixes with the parameter's name.
import { parseDuration, parseRfc3339 } from '@kanade/wire';
import { z } from 'zod';
import { filterProblem } from '../regex.js';

/** A case-insensitive regular expression (compiled here so a bad one is a 400, not a 500; see regex.ts). */
export const regexParam = z
  .string()
  .max(256, 'at most 256 characters')
  .superRefine((s, ctx) => {
    const problem = filterProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** RFC 3339 timestamp -> epoch ms. */
export const timeParam = z
  .string()
  .max(64)
  .transform((s, ctx) => {
    const t = parseRfc3339(s);
    if (Number.isNaN(t)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected an RFC 3339 timestamp such as 2026-05-01T10:00:00Z',
      });
      return z.NEVER;
    }
    return t;
  });

/** humantime duration (`30s`, `5m`, `1h30m`) -> ms, at least `minMs`. */
export const durationParam = (minMs = 1000) =>
  z
    .string()
    .max(64)
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === undefined || ms < minMs) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration of at least ${minMs / 1000}s such as 30s, 5m or 1h30m`,
        });
        return z.NEVER;
      }
      return ms;
    });

export const intParam = (min: number, max: number) =>
  z.coerce
    .number({ error: 'expected an integer' })
    .int('expected an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const pcIdParam = z.object({ pc_id: z.string().min(1).max(256) });
