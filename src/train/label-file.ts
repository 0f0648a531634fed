/**
 * The labels file of `alexnet train --labels FILE`: one `folder-name label text` per line, as
 * ImageNet's synset mapping (`n01440764 tench, Tinca tinca`); a folder name with spaces is followed
 * by a tab (`red apple<TAB>Red apple`). Names compare in Unicode NFC, as the class folders do.
 * The data's class folders stay the model's class ids; the texts become the labels it answers with.
 */
import { promises as fs } from 'node:fs';
import { ConfigError } from '../errors.js';

export interface LabelFile {
  /** Where the file came from, for messages. */
  source: string;
  /** Label text by class folder name, in the file's order. */
  byFolder: Map<string, string>;
}

/** Parse a labels file's text; blank lines are skipped, anything else wrong is a ConfigError naming its line. */
export function parseLabelFile(text: string, source: string): LabelFile {
  const byFolder = new Map<string, string>();
  const lineOf = new Map<string, number>();
  // A byte-order mark would otherwise become part of the first folder name.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    // A tab ends the folder name (which may then hold spaces); otherwise the first space does.
    const [, name, rest] = (line.includes('\t') ? /^([^\t]+)\t(.*)$/ : /^(\S+)\s*(.*)$/).exec(line)!;
    const folder = name!.trim().normalize('NFC');
    const label = rest!.trim();
    if (label === '') throw new ConfigError(`${source}:${i + 1}: '${folder}' has no label text (each line is 'folder-name label text')`);
    const first = lineOf.get(folder);
    if (first !== undefined) throw new ConfigError(`${source}:${i + 1}: folder '${folder}' is listed twice (first on line ${first})`);
    byFolder.set(folder, label);
    lineOf.set(folder, i + 1);
  }
  if (byFolder.size === 0) throw new ConfigError(`${source} has no 'folder-name label text' lines`);
  return { source, byFolder };
}

/** The file's text: UTF-8, or UTF-16 with its byte-order mark (what Windows Notepad's "Unicode" and PowerShell 5's `>` write). */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2))).swap16().toString('utf16le');
  return bytes.toString('utf8');
}

export async function readLabelFile(file: string): Promise<LabelFile> {
  let text: string;
  try {
    text = decodeText(await fs.readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read labels file ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseLabelFile(text, file);
}

/** The label of each class folder, in their order; folders the file lists but the data lacks are fine (ImageNet's lists 1000). */
export function labelsFor(classIds: readonly string[], file: LabelFile): string[] {
  const missing = classIds.filter((c) => !file.byFolder.has(c.normalize('NFC')));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length} in all)` : '');
    throw new ConfigError(`${file.source} has no line for the class folder(s) ${shown} of the data: add 'folder-name label text' for each (a tab after a name with spaces)`);
  }
  return classIds.map((c) => file.byFolder.get(c.normalize('NFC'))!);
}
