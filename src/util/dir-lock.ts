/**
 * One writer per directory: a lock file made with O_EXCL holding the writer's pid and host. A
 * second `alexnet train` into the same --out (or a second preparation of one cache) is refused
 * while the first runs; a lock left by a process that is gone (killed, the machine rebooted) is
 * taken over. Released when the work ends, and at the latest when the process exits.
 *
 * Who counts as gone: on this machine, a pid that no process has, or that another process has
 * now (its start time differs: a reboot, a reused pid), or this process's own pid in a lock it
 * never took (a container restarted gives the server the same pid again). A holder on another
 * machine (a shared volume) cannot be asked: it touches the file every HEARTBEAT_MS, and a lock
 * untouched for STALE_MS is gone (host clocks must agree within STALE_MS - HEARTBEAT_MS).
 */
import { closeSync, openSync, promises as fs, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** The lock is held by a live process (the message names it). */
export class LockHeldError extends ConfigError {}

export interface Holder {
  pid: number;
  host: string;
  since: string;
  /** The boot and the start time of the process (Linux's /proc), so a pid another process has since is told apart. */
  start?: string;
}

const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;

/** `<boot id>:<start time in clock ticks after boot>` of a process of this machine, if /proc tells it. */
export function processStart(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2, in parentheses) may hold spaces, so count after its ')'.
    return `${boot}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

/** Whether the holder of `file` (last touched at `touchedMs`) is a live process. */
function alive(h: Holder, file: string, touchedMs: number): boolean {
  if (h.host !== os.hostname()) return Date.now() - touchedMs < STALE_MS;
  if (h.pid === process.pid) return heldHere.has(path.resolve(file));
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = h.start === undefined ? undefined : processStart(h.pid);
  return now === undefined || now === h.start;
}

/** The holder written in `file`, if it parses, and when the file was last touched. */
async function readHolder(file: string): Promise<{ holder: Holder; touchedMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    return { holder: JSON.parse(text) as Holder, touchedMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Lock files this process holds now: a check of a folder's lock tells its own from another's. */
const heldHere = new Set<string>();

/** Whether this process holds `file` (taken by takeLock, not yet released). */
export function holdsLock(file: string): boolean {
  return heldHere.has(path.resolve(file));
}

/** What a refusal says about a live holder of `file`. */
export function heldMessage(holder: Holder, file: string, what: string): string {
  return `${what} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}): wait for it to end, or stop it; if no such process runs, remove ${file}`;
}

/** The live process holding `file`, if any. */
export async function lockHolder(file: string): Promise<Holder | undefined> {
  const read = await readHolder(file);
  return read && alive(read.holder, file, read.touchedMs) ? read.holder : undefined;
}

/** Wait while a live process holds `file`, telling `waiting` once who it is; resolves when it is free. */
export async function waitForLock(file: string, waiting: (holder: Holder) => void, pollMs = 500): Promise<void> {
  let told = false;
  for (let h = await lockHolder(file); h; h = await lockHolder(file)) {
    if (!told) waiting(h);
    told = true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Take `file` for this process, or refuse naming the holder and what it is doing (`what`). Returns the release. */
export async function takeLock(file: string, what: string, heartbeatMs = HEARTBEAT_MS): Promise<() => void> {
  const start = processStart(process.pid);
  const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), ...(start ? { start } : {}) };
  // The folder it goes in may not exist yet (--out data/x in a fresh clone).
  await fs.mkdir(path.dirname(file), { recursive: true }).catch(() => undefined);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try {
        writeSync(fd, JSON.stringify(me));
      } catch (e) {
        // A full disk makes the file but not its contents: leave nothing behind.
        rmSync(file, { force: true });
        throw e;
      } finally {
        closeSync(fd);
      }
      let held = true;
      heldHere.add(path.resolve(file));
      // Touched while held: what a process on another machine sharing the folder can see.
      const beat = setInterval(() => {
        const t = new Date();
        void fs.utimes(file, t, t).catch(() => undefined);
      }, heartbeatMs);
      beat.unref();
      const release = () => {
        if (!held) return;
        held = false;
        clearInterval(beat);
        heldHere.delete(path.resolve(file));
        process.off('exit', release);
        rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') throw new ConfigError(`cannot write ${file}: no space left on the device of ${path.dirname(path.resolve(file))}: free some space, or put ${what} on another disk`);
      if (code !== 'EEXIST') throw new ConfigError(`cannot write ${file} (${code ?? (e as Error).message}): ${what} must be in a folder this user may write`);
    }
    // A file that does not parse was left by a process that died between making and filling it: not a live holder.
    const read = await readHolder(file);
    if (read && alive(read.holder, file, read.touchedMs)) {
      throw new LockHeldError(heldMessage(read.holder, file, what));
    }
    await fs.rm(file, { force: true });
  }
  throw new ConfigError(`could not take the lock ${file}: another process keeps taking it`);
}
