import { COMMANDS } from '../src/run.js';
import { runCli } from './run-cli.js';

describe('residual (the command framework)', () => {
  it('lists every command on --help and exits 0', async () => {
    const { code, stdout, stderr } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.startsWith('Usage: residual <command> [flags]\n\nCommands:\n  demo ')).toBe(true);
    const width = 'reconstruct'.length; // the longest name
    for (const c of COMMANDS) expect(stdout).toContain(`  ${c.name.padEnd(width)}  ${c.summary}\n`);
  });

  it('prints the usage on stderr and exits 2 without a command', async () => {
    const { code, stdout, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: residual <command> [flags]');
  });

  it('rejects an unknown command with exit code 2', async () => {
    expect(await runCli(['detcet'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'residual: unknown command "detcet" (commands: demo, info, convert, eval, classify, detect, train, pretrain, reconstruct, export, demo-data)\n',
    });
  });

  it.each(COMMANDS.map((c) => [c.name]))('prints the help of %s with the common flags', async (name) => {
    const { code, stdout } = await runCli([name, '--help']);
    expect(code).toBe(0);
    expect(stdout.startsWith(`Usage: residual ${name} `)).toBe(true);
    expect(stdout).toContain('  --backend node|wasm|cpu ');
    expect(stdout).toContain('  --json ');
  });

  it('rejects an unknown flag with exit code 2 and a pointer to --help', async () => {
    expect(await runCli(['eval', '--ann', 'a.json', '--resluts', 'r.json'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "residual eval: unknown flag --resluts\nRun 'residual eval --help' for usage.\n",
    });
  });

  it('names a flag given without its value', async () => {
    const { code, stderr } = await runCli(['eval', '--results', 'r.json', '--ann']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('residual eval: --ann needs a value');
  });

  it('names a missing required flag', async () => {
    const { code, stderr } = await runCli(['eval', '--ann', 'a.json']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('residual eval: missing required flag --results');
  });

  it('rejects a --backend that residual does not know', async () => {
    const { code, stderr } = await runCli(['convert', 'a', 'b', '--backend', 'gpu']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('residual convert: --backend must be one of node, wasm, cpu, got "gpu"');
  });

  it('reports a library error on one line with exit code 1, and the stack only with RESIDUAL_DEBUG=1', async () => {
    const argv = ['eval', '--ann', 'missing.json', '--results', 'r.json'];
    expect(await runCli(argv)).toEqual({ code: 1, stdout: '', stderr: 'residual eval: cannot read --ann missing.json: no such file\n' });
    const debug = await runCli(argv, { env: { RESIDUAL_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n')[1]).toBe('ValueError: cannot read --ann missing.json: no such file');
    expect(debug.stderr).toMatch(/\n {4}at /);
  });
});
