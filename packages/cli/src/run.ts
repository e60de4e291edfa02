import { parseArgs, type ParseArgsConfig } from 'node:util';
import { initBackend, type BackendName } from '@residual/core';
import { classifyCommand } from './classify-command.js';
import { UsageError, type CliIo, type Command, type CommandContext, type CommonFlags } from './command.js';
import { convertCommand } from './convert-command.js';
import { demoCommand } from './demo-command.js';
import { infoCommand } from './info-command.js';
import { demoDataCommand } from './demo-data-command.js';
import { detectCommand } from './detect-command.js';
import { evalCommand } from './eval-command.js';
import { exportCommand } from './export-command.js';
import { pretrainCommand } from './pretrain-command.js';
import { SILENT_PROGRESS, barProgress, plainProgress } from './progress.js';
import { reconstructCommand } from './reconstruct-command.js';
import { trainCommand } from './train-command.js';

/** The commands of `residual`, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  demoCommand, infoCommand, convertCommand, evalCommand, classifyCommand, detectCommand, trainCommand, pretrainCommand, reconstructCommand, exportCommand, demoDataCommand,
];

const BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu'];

const COMMON_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  backend: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

const COMMON_HELP = `Common flags:
  --backend node|wasm|cpu   tfjs backend (default: node, else wasm, else cpu; or $RESIDUAL_BACKEND)
  --json                    machine-readable result on stdout
  --quiet                   no progress and no notes on stderr
  -h, --help                this help`;

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: residual <command> [flags]\n\nCommands:\n${list}\n\n${COMMON_HELP}\n\nRun 'residual <command> --help' for a command's flags.`;
}

/** Turns util.parseArgs' TypeErrors into a short UsageError naming the command and the flag. */
function parseFailure(command: string, e: unknown): never {
  const { code, message } = e as { code?: string; message: string };
  const quoted = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`residual ${command}: unknown flag ${quoted}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    const needsValue = message.includes('argument missing');
    throw new UsageError(`residual ${command}: ${flag} ${needsValue ? 'needs a value' : 'does not take a value'}`);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`residual ${command}: unexpected argument ${/'([^']*)'/.exec(message)?.[1]}`);
  throw new UsageError(`residual ${command}: ${message}`);
}

function context(command: Command, io: CliIo, argv: readonly string[]): CommandContext & { help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (e) {
    parseFailure(command.name, e);
  }
  const { values } = parsed;
  const backend = values.backend as string | undefined;
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) {
    throw new UsageError(`residual ${command.name}: --backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  const common: CommonFlags = { backend, json: values.json === true, quiet: values.quiet === true };
  const silent = common.quiet || common.json;
  const now = io.now ?? Date.now;
  return {
    help: values.help === true,
    values,
    positionals: parsed.positionals,
    common,
    print: (line) => io.stdout.write(`${line}\n`),
    note: (line) => {
      if (!silent) io.stderr.write(`${line}\n`);
    },
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (label, total) => {
      if (silent) return SILENT_PROGRESS;
      return io.stdout.isTTY === true ? barProgress(io.stdout, label, total, now) : plainProgress(io.stderr, label, total);
    },
    initBackend: () => initBackend(backend as BackendName | undefined),
  };
}

/**
 * Runs `residual <command> [flags]` in-process and resolves to the exit code: 0 on success, 1 when
 * the library or a file fails (one line `residual <command>: <message>` on stderr; the stack too
 * when `RESIDUAL_DEBUG=1`), 2 for a wrong command line (unknown or missing flags, bad values).
 * `argv` is what follows the program name (`process.argv.slice(2)`). Only `io` is written to.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(`${mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`residual: unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    const ctx = context(command, io, rest);
    if (ctx.help) {
      io.stdout.write(`${command.help}\n\n${COMMON_HELP}\n`);
      return 0;
    }
    return (await command.run(ctx)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\nRun 'residual ${command.name} --help' for usage.\n`);
      return 2;
    }
    const error = e instanceof Error ? e : new Error(String(e));
    const debug = (io.env ?? process.env).RESIDUAL_DEBUG === '1';
    const message = error.message.split('\n')[0];
    io.stderr.write(`residual ${command.name}: ${message}\n`);
    if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
