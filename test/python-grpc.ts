/** Debian's Python with grpcio and grpc_tools: the client we did not write, for the KServe and reflection tests. */
import { execFileSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** Why PYTHON cannot run those clients here (its import error's last line), or undefined when it can. */
export function pythonProblem(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, grpc_tools'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n').pop();
  }
}
