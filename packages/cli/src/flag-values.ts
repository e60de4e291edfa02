import { UsageError, type CommandContext } from './command.js';

// Typed readers of parsed flags: each names the command and the flag in its UsageError (exit 2).

/** A string flag; `required` turns its absence into a UsageError. */
export function stringFlag(ctx: CommandContext, command: string, name: string, required: true): string;
export function stringFlag(ctx: CommandContext, command: string, name: string, required?: false): string | undefined;
export function stringFlag(ctx: CommandContext, command: string, name: string, required = false): string | undefined {
  const value = ctx.values[name];
  if (value === undefined) {
    if (required) throw new UsageError(`residual ${command}: missing required flag --${name}`);
    return undefined;
  }
  return String(value);
}

/** The values of a `multiple: true` string flag (empty when absent). */
export function listFlag(ctx: CommandContext, name: string): string[] {
  const value = ctx.values[name];
  return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
}

/** A flag that must be one of `choices`; `fallback` when absent. */
export function choiceFlag<T extends string>(ctx: CommandContext, command: string, name: string, choices: readonly T[], fallback: T): T;
export function choiceFlag<T extends string>(ctx: CommandContext, command: string, name: string, choices: readonly T[]): T | undefined;
export function choiceFlag<T extends string>(
  ctx: CommandContext,
  command: string,
  name: string,
  choices: readonly T[],
  fallback?: T,
): T | undefined {
  const value = stringFlag(ctx, command, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`residual ${command}: --${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** A number flag: an integer ≥ `min` when `integer`, else any finite number ≥ `min`. */
export function numberFlag(
  ctx: CommandContext,
  command: string,
  name: string,
  fallback: number,
  { integer = false, min = -Infinity }: { integer?: boolean; min?: number } = {},
): number {
  const text = stringFlag(ctx, command, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  const ok = text.trim() !== '' && Number.isFinite(value) && (!integer || Number.isInteger(value)) && value >= min;
  if (!ok) {
    const what = integer ? `an integer${min > -Infinity ? ` ≥ ${min}` : ''}` : `a number${min > -Infinity ? ` ≥ ${min}` : ''}`;
    throw new UsageError(`residual ${command}: --${name} must be ${what}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Exactly `count` positionals (or at least `count` with `atLeast`), named for the message. */
export function positionals(ctx: CommandContext, command: string, names: string, count: number, atLeast = false): string[] {
  const got = ctx.positionals.length;
  if (atLeast ? got < count : got !== count) {
    const expected = atLeast ? `at least ${count}` : `${count}`;
    throw new UsageError(`residual ${command}: expected ${expected} argument${count === 1 ? '' : 's'} (${names}), got ${got}`);
  }
  return ctx.positionals;
}
