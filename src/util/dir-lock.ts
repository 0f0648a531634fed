/**
 * One writer per directory: a lock file made with O_EXCL holding the writer's pid and host. A
 * second `alexnet train` into the same --out (or a second preparation of one cache) is refused
 * while the first runs; a lock left by a process that is gone (killed, the machine rebooted) is
 * taken over. Released when the work ends, and at the latest when the process exits.
 */
import { closeSync, openSync, promises as fs, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** The lock is held by a live process (the message names it). */
export class LockHeldError extends ConfigError {}

export interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Whether the holder is a live process on this machine (a lock from another host is taken as held). */
function alive(h: Holder): boolean {
  if (h.host !== os.hostname()) return true;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
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
  try {
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as Holder;
    return alive(holder) ? holder : undefined;
  } catch {
    return undefined;
  }
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
export async function takeLock(file: string, what: string): Promise<() => void> {
  const me: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  // The folder it goes in may not exist yet (--out data/x in a fresh clone).
  await fs.mkdir(path.dirname(file), { recursive: true }).catch(() => undefined);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let held = true;
      heldHere.add(path.resolve(file));
      const release = () => {
        if (!held) return;
        held = false;
        heldHere.delete(path.resolve(file));
        process.off('exit', release);
        rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new ConfigError(`cannot write ${file} (${code ?? (e as Error).message}): ${what} must be in a folder this user may write`);
    }
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(text) as Holder;
    } catch {
      // Written by a process that died between making and filling it: not a live holder.
    }
    if (holder && alive(holder)) {
      throw new LockHeldError(heldMessage(holder, file, what));
    }
    await fs.rm(file, { force: true });
  }
  throw new ConfigError(`could not take the lock ${file}: another process keeps taking it`);
}
