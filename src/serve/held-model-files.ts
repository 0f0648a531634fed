/**
 * The files of the version an engine serves, held open for the engine's life, so that every worker
 * it starts, a replacement for one that died included, loads those very files: by their path, a
 * replacement would load whatever is there by then (the next export renamed over them, answering
 * under the old version's name) or nothing (the version's directory removed, a Kubernetes volume
 * swapped to new files), leaving the engine without workers and its calls waiting. On Linux an
 * open file stays readable as /proc/self/fd/N after it is renamed over or removed; elsewhere the
 * paths are used as they are.
 */
import { existsSync, promises as fs } from 'node:fs';
import type { ModelFiles } from '../model/model-files.js';

export interface HeldModelFiles {
  /** The model, its two paths naming the held files. */
  readonly model: ModelFiles;
  /** `e` naming the files by their paths again (onnxruntime's errors name the file it was given). */
  named(e: unknown): unknown;
  close(): Promise<void>;
}

export async function holdModelFiles(model: ModelFiles): Promise<HeldModelFiles> {
  if (!existsSync('/proc/self/fd')) return { model, named: (e) => e, close: async () => undefined };
  const single = await fs.open(model.singleCropPath, 'r');
  const ten = await fs.open(model.tenCropPath, 'r').catch(async (e: unknown) => {
    await single.close();
    throw e;
  });
  const names: [RegExp, string][] = [
    [new RegExp(`/proc/self/fd/${single.fd}(?![0-9])`, 'g'), model.singleCropPath],
    [new RegExp(`/proc/self/fd/${ten.fd}(?![0-9])`, 'g'), model.tenCropPath],
  ];
  return {
    model: { ...model, singleCropPath: `/proc/self/fd/${single.fd}`, tenCropPath: `/proc/self/fd/${ten.fd}` },
    named: (e) => {
      if (e instanceof Error) {
        for (const [fd, file] of names) {
          e.message = e.message.replace(fd, file);
          e.stack = e.stack?.replace(fd, file);
        }
      }
      return e;
    },
    close: async () => {
      await Promise.all([single.close(), ten.close()]);
    },
  };
}
