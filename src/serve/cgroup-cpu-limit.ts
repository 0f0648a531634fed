/**
 * The CPU limit a cgroup puts on this process, in cores (rounded up): the smallest quota of the
 * process's own cgroup and of each cgroup above it, from cgroup v2's cpu.max ("<quota> <period>"
 * or "max <period>") or v1's cpu.cfs_quota_us / cpu.cfs_period_us. Undefined when there is none.
 *
 * The process's cgroup is the one /proc/self/cgroup names, not the mount's root: a server started
 * by systemd with CPUQuota=, or put in a cgroup by hand, sits in a cgroup below the root, and the
 * root has no limit. In a container the mount's root is the container's own cgroup and the path
 * /proc/self/cgroup gives (the host's, without a cgroup namespace) does not exist below it: the
 * walk up from that path reaches the mount's root and reads the container's limit there.
 *
 * A container limited to 2 CPUs on a 64-core node sees 64 cores in os.availableParallelism()
 * (Node 20 does not read cgroups), and would start 16 workers of 4 threads for 2 cores.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';

type Read = (file: string) => string | undefined;

export function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const cores = (quota: number, period: number) => (quota > 0 && period > 0 ? Math.max(1, Math.ceil(quota / period)) : undefined);

/** Where the CPU controller is for this process: cgroup v1's cpu hierarchy when one is mounted (hybrid systems too), else v2's. */
function ownCgroup(read: Read): { version: 1 | 2; path: string } {
  const lines = (read('/proc/self/cgroup') ?? '').split('\n').map((l) => /^(\d+):([^:]*):(.*)$/.exec(l.trim())).filter((m) => m !== null);
  const v1 = lines.find((m) => m[2]!.split(',').includes('cpu'));
  if (v1) return { version: 1, path: v1[3]! };
  const v2 = lines.find((m) => m[1] === '0' && m[2] === '');
  if (v2) return { version: 2, path: v2[3]! };
  // No /proc/self/cgroup to go by: the mount's root, the cgroup a container sees as its own.
  return { version: read(`${ROOT}/cpu.max`) !== undefined ? 2 : 1, path: '/' };
}

/** The limit one cgroup directory sets, if any. */
function limitAt(version: 1 | 2, dir: string, read: Read): number | undefined {
  if (version === 2) {
    const v = read(path.posix.join(dir, 'cpu.max'))?.trim().split(/\s+/);
    return v && v[0] !== 'max' ? cores(Number(v[0]), Number(v[1])) : undefined;
  }
  return cores(Number(read(path.posix.join(dir, 'cpu.cfs_quota_us'))), Number(read(path.posix.join(dir, 'cpu.cfs_period_us'))));
}

export function cgroupCpuLimit(read: Read = readOptional): number | undefined {
  const own = ownCgroup(read);
  const mount = own.version === 2 ? ROOT : `${ROOT}/cpu`;
  let limit: number | undefined;
  // From the process's cgroup up to the mount's root, each level read (a missing one reads as no limit).
  for (let dir = path.posix.join(mount, own.path); ; dir = path.posix.dirname(dir)) {
    const here = limitAt(own.version, dir, read);
    if (here !== undefined) limit = Math.min(limit ?? Infinity, here);
    if (dir === mount || !dir.startsWith(`${mount}/`)) break;
  }
  return limit;
}
