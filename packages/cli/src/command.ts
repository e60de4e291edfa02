import type { ParseArgsConfig } from 'node:util';
import type { ProgressReporter } from './progress.js';

/** A writable text stream: `process.stdout` or a test's collector. */
export interface CliStream {
  write(text: string): unknown;
  /** True when the stream is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
}

/** Where {@link run} writes and what it reads from its environment; tests pass their own. */
export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  /** Environment variables (default `process.env`); `RESIDUAL_DEBUG=1` adds stacks to errors. */
  env?: Record<string, string | undefined>;
  /** Milliseconds clock for progress rates (default `Date.now`). */
  now?: () => number;
}

/** A wrong command line: reported with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The flags every command accepts. */
export interface CommonFlags {
  backend?: string;
  json: boolean;
  quiet: boolean;
}

/** What a command gets to run: its parsed flags, positionals and the ways to talk to the user. */
export interface CommandContext {
  /** Flag values by long name (strings, booleans, or arrays for `multiple` flags). */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  common: CommonFlags;
  /** Writes one line of the command's result to stdout (not called in --json mode by convention). */
  print(line: string): void;
  /** Writes a note to stderr unless --quiet or --json. */
  note(line: string): void;
  /** Progress for `total` steps: a bar when stdout is a TTY, plain lines otherwise, nothing when quiet. */
  progress(label: string, total: number): ProgressReporter;
  /** Prints `value` as JSON on stdout (the --json result). */
  printJson(value: unknown): void;
  /** Loads the tfjs backend asked for by --backend (default: core's order node → wasm → cpu). */
  initBackend(): Promise<string>;
}

/** One `residual <name>` command. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full --help text (usage line, flags, examples), without the common flags. */
  help: string;
  /** The command's own flags, as node's util.parseArgs takes them. */
  options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the command; resolves to the exit code (0 when omitted). Throw UsageError for bad flags. */
  run(context: CommandContext): Promise<number | void>;
}
