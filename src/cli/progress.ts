/** Progress on stderr: a bar on a terminal, a line every 10 s (with the ETA) in a log file. */
import cliProgress from 'cli-progress';

/** The stops of the bars drawn on a terminal now: an interrupted command stops them (the cursor they hide shown again) before it exits. */
const drawn = new Set<() => void>();

export function stopProgressBars(): void {
  for (const stop of [...drawn]) stop();
}

export function progressBar(label: string): { update: (done: number, total: number, extra?: string) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    // A log file, not a terminal: a line every 10 s, with the ETA a terminal's bar would show.
    let last = 0;
    let start: { at: number; done: number } | undefined;
    return {
      update: (done, total, extra = '') => {
        const now = Date.now();
        start ??= { at: now, done };
        if (now - last > 10_000 || done === total) {
          last = now;
          const rate = (done - start.done) / Math.max(1, now - start.at);
          const eta = done < total && rate > 0 ? ` | ETA ${formatSeconds((total - done) / rate / 1000)}` : '';
          console.error(`${label}: ${done}/${total}${eta}${extra ? ` | ${extra}` : ''}`);
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} | ETA {eta_formatted} | {extra}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const stop = () => {
    drawn.delete(stop);
    if (started) bar.stop();
    started = false;
  };
  return {
    update: (done, total, extra = '') => {
      if (!started) {
        bar.start(total, 0, { extra });
        started = true;
        drawn.add(stop);
      }
      bar.setTotal(total);
      bar.update(done, { extra });
    },
    stop,
  };
}

/** 75 -> "1m15s", 4000 -> "1h06m". */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
