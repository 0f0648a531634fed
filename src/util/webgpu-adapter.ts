/**
 * Which WebGPU adapter this machine has, asked of Dawn (the `webgpu` package) in a child
 * process. Used by the trainer's backend choice and by the server's execution-provider choice:
 * both skip a software adapter (lavapipe, llvmpipe, SwiftShader) unless it is asked for by name,
 * since on one the CPU backends are faster.
 */
import { spawnSync } from 'node:child_process';

export interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  fallback?: boolean;
}

export interface AdapterProbe {
  /** The adapter Dawn offers, or null. */
  info: AdapterInfo | null;
  /** Why there is none (when info is null). */
  why: string;
  /** False when the `webgpu` package itself could not be loaded: then nothing is known either way. */
  dawnLoaded: boolean;
}

const short = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300);

/**
 * Ask Dawn for an adapter in a child process: Dawn and the Vulkan loader write their warnings
 * straight to file descriptor 2, so the child's stderr keeps them off the user's terminal and
 * gives `doctor` the real reason when there is no adapter.
 */
export function probeAdapterInChild(): AdapterProbe {
  let url: string;
  try {
    url = import.meta.resolve('webgpu');
  } catch {
    return { info: null, why: "the 'webgpu' package (Dawn) is not installed", dawnLoaded: false };
  }
  const script = `const { create } = await import(${JSON.stringify(url)});
const a = await create([]).requestAdapter().catch(() => null);
const i = a?.info ?? {};
process.stdout.write(JSON.stringify(a && { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, fallback: a.isFallbackAdapter === true }));
process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const stderr = (r.stderr ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('at ') && !/XDG_RUNTIME_DIR/.test(l));
  if (r.status !== 0 || r.error) {
    return { info: null, why: `the 'webgpu' package failed to load: ${short(r.error ?? (stderr.join(' ') || `exit ${r.status}`))}`, dawnLoaded: false };
  }
  const info = JSON.parse(r.stdout || 'null') as AdapterInfo | null;
  const dawn = stderr.join(' ').replace(/^Warning:\s*/, '').slice(0, 200);
  const hint = "a GPU's Vulkan driver gives one; without a GPU, Mesa >= 24's lavapipe does (Debian 12: mesa-vulkan-drivers from bookworm-backports)";
  return { info, why: `no WebGPU adapter: ${dawn ? `Dawn says "${dawn}"` : 'Dawn found no GPU (no Vulkan driver?)'}; ${hint}`, dawnLoaded: true };
}

/** A readable name for the adapter, and whether it is a software (CPU) one. */
export function describeAdapter(i: AdapterInfo): { text: string; software: boolean } {
  const text = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unknown adapter';
  const software = i.fallback === true || /llvmpipe|lavapipe|swiftshader|software|\bcpu\b/i.test(text);
  return { text, software };
}
