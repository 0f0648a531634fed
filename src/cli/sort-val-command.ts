/** `alexnet data sort-val DIR --solution FILE`: ImageNet's flat validation folder into class folders (src/train/val-solution.ts). */
import { promises as fs } from 'node:fs';
import { ConfigError } from '../errors.js';
import { plural } from '../util/plural.js';
import { parseValSolution, sortValFolder } from '../train/val-solution.js';

export async function sortValCommand(dir: string, opts: { solution: string }): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(opts.solution, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${opts.solution}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const r = await sortValFolder(dir, parseValSolution(text, opts.solution), opts.solution);
  if (r.unlisted.length > 0) console.error(`warning: ${plural(r.unlisted.length, 'image')} of ${dir} not listed in ${opts.solution} left where they are (${r.unlisted.slice(0, 3).join(', ')}${r.unlisted.length > 3 ? ', ...' : ''})`);
  if (r.clashes.length > 0) {
    console.error(`${plural(r.clashes.length, 'image')} not moved: their class folder already holds a file of that name (${r.clashes.slice(0, 3).join(', ')}${r.clashes.length > 3 ? ', ...' : ''}); compare the two and remove one`);
    process.exitCode = 1;
  }
  if (r.missing > 0) console.error(`warning: ${plural(r.missing, 'image')} listed in ${opts.solution} are not in ${dir}`);
  console.log(`sorted ${dir}: ${plural(r.moved, 'image')} moved into class folders${r.already > 0 ? `, ${r.already} already there` : ''}; ${plural(r.classes, 'class folder')}`);
}
