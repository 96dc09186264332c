// Progress on stderr for uploads, downloads and waits, written here rather
// than taken from a library (the CLI has no dependencies beyond yaml). On a
// terminal it redraws one line at most ten times a second; when stderr is
// not a terminal it stays silent unless --progress asks for it, and then
// prints a plain line at every tenth of the way (bars) or every 5 s
// (waits), so logs of scripted runs stay readable. --no-progress silences it.
import { formatBytes } from './output.js';

export interface Bar {
  update(done: number, extra?: string): void;
  finish(message?: string): void;
}

export interface ProgressOptions {
  /** `off`: never; `auto`: on a terminal; `on`: always (plain lines off a terminal). */
  mode: 'off' | 'auto' | 'on';
  tty: boolean;
  write(s: string): void;
  now?: () => number;
}

const WIDTH = 28;

export function createProgress(o: ProgressOptions) {
  const now = o.now ?? Date.now;
  const enabled = o.mode === 'on' || (o.mode === 'auto' && o.tty);
  const live = enabled && o.tty;

  function draw(text: string) {
    o.write(`\r\x1b[2K${text}`);
  }

  return {
    enabled,

    /** A bar over `total` units; `bytes` formats the counts as sizes with a rate. */
    bar(label: string, total: number, opts: { bytes?: boolean } = {}): Bar {
      const started = now();
      let lastDraw = 0;
      let lastStep = -1;
      const fmt = (n: number) => (opts.bytes ? formatBytes(n) : String(n));
      const text = (done: number, extra?: string) => {
        const frac = total > 0 ? Math.min(1, done / total) : 1;
        const filled = Math.round(frac * WIDTH);
        const secs = Math.max(0.001, (now() - started) / 1000);
        const rate = opts.bytes ? `  ${formatBytes(done / secs)}/s` : '';
        return `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${Math.floor(frac * 100)
          .toString()
          .padStart(3)}%  ${fmt(done)}/${fmt(total)}${rate}${extra ? `  ${extra}` : ''}`;
      };
      return {
        update(done, extra) {
          if (!enabled) return;
          if (live) {
            if (now() - lastDraw < 100 && done < total) return;
            lastDraw = now();
            draw(text(done, extra));
            return;
          }
          const step = total > 0 ? Math.floor((Math.min(done, total) / total) * 10) : 10;
          if (step === lastStep) return;
          lastStep = step;
          o.write(`${text(done, extra)}\n`);
        },
        finish(message) {
          if (!enabled) return;
          if (live) draw('');
          if (message) o.write(`${live ? '\r' : ''}${message}\n`);
          else if (live) o.write('\r');
        },
      };
    },

    /** A wait without a known end: `label` plus elapsed time and a status text. */
    spinner(label: string): Bar {
      const started = now();
      let lastDraw = 0;
      let i = 0;
      const frames = ['|', '/', '-', '\\'];
      const text = (extra?: string) =>
        `${label} ${((now() - started) / 1000).toFixed(0)}s${extra ? `  ${extra}` : ''}`;
      return {
        update(_done, extra) {
          if (!enabled) return;
          const gap = live ? 100 : 5000;
          if (now() - lastDraw < gap) return;
          lastDraw = now();
          if (live) draw(`${frames[i++ % frames.length]} ${text(extra)}`);
          else o.write(`${text(extra)}\n`);
        },
        finish(message) {
          if (!enabled) return;
          if (live) draw('');
          if (message) o.write(`${live ? '\r' : ''}${message}\n`);
          else if (live) o.write('\r');
        },
      };
    },
  };
}
export type Progress = ReturnType<typeof createProgress>;
