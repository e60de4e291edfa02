import type { CliStream } from './command.js';

/** Reports steps of a long job; `done` ends the bar (or line) and may be called once. */
export interface ProgressReporter {
  tick(detail?: string): void;
  done(): void;
}

/** A reporter that shows nothing (--quiet, --json). */
export const SILENT_PROGRESS: ProgressReporter = { tick: () => undefined, done: () => undefined };

const WIDTH = 24;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  return `${String(m).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

/**
 * A progress bar redrawn in place with `\r` on a terminal: `label [#####-----] 3/10 1.5/s ETA 00:05 detail`
 * (the last tick's detail, e.g. the loss terms; the rest of the line is cleared).
 * Erased by `done`. For TTY streams only; see {@link plainProgress} for logs.
 */
export function barProgress(stream: CliStream, label: string, total: number, now: () => number): ProgressReporter {
  const start = now();
  let count = 0;
  let detail = '';
  const draw = (): void => {
    const fraction = total > 0 ? Math.min(count / total, 1) : 1;
    const filled = Math.round(fraction * WIDTH);
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const eta = rate > 0 ? (total - count) / rate : Infinity;
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${count}/${total} ${rate.toFixed(1)}/s ETA ${formatSeconds(eta)}${detail ? ` ${detail}\x1b[K` : ''}`);
  };
  draw();
  return {
    tick: (text) => {
      count++;
      detail = text ?? '';
      draw();
    },
    done: () => stream.write('\r\x1b[2K'),
  };
}

/** One plain line per step (`label 3/10 detail`), for logs and CI where `\r` would make a mess. */
export function plainProgress(stream: CliStream, label: string, total: number): ProgressReporter {
  let count = 0;
  return {
    tick: (detail) => {
      count++;
      stream.write(`${label} ${count}/${total}${detail ? ` ${detail}` : ''}\n`);
    },
    done: () => undefined,
  };
}
