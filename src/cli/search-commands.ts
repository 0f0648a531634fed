/** The CLI's similarity-search commands: `index add|info|list|delete|prune`, `search`, `dedup` (clients of a running server's ImageSearch). */
import { Option, type Command } from 'commander';
import { nonNegativeNumber, positiveInt, positiveNumber } from './arg-parsers.js';
import type { ClientOptionValues } from './client-options.js';

const TIMEOUT = ['--timeout <seconds>', 'deadline of each call to the server (index add and dedup: the longest wait for the next image\'s answer)'] as const;

export function registerSearchCommands(program: Command): void {
  const index = program.command('index').description("the similarity index of a running server (alexnet.v1.ImageSearch; fc7 vectors, Euclidean distance, paper §6.1)");

  index
    .command('add')
    .description('embed and store images: folders recursively (jpg, png, webp); id = the first 32 hex digits of the file\'s SHA-256, so files already stored are skipped and a stopped run resumes (one moved since its stored path is gone gets its new path and label); labels class=<parent folder>, uri = the file path')
    .argument('<paths...>', 'image files or folders')
    .option(...TIMEOUT, positiveNumber, 30)
    .action(async (paths: string[], opts) => {
      const { indexAddCommand } = await import('./search-command.js');
      await indexAddCommand(paths, opts);
    });

  index
    .command('info')
    .description('what the index holds: items, dimension, the model that made it, indexed and not-yet-indexed items, backend')
    .option('--json', 'print JSON')
    .option(...TIMEOUT, positiveNumber, 30)
    .action(async (opts) => {
      const { indexInfoCommand } = await import('./search-command.js');
      await indexInfoCommand(opts);
    });

  const where = (v: string, prev: string[] = []) => [...prev, v];
  index
    .command('list')
    .description('every stored item, in the byte order of ids: id, uri, predicted class and labels, tab-separated (--json: one JSON object per line)')
    .option('--where <key=value>', 'only items with this label (as search takes it)', where)
    .option('--json', 'print one JSON object per line')
    .option(...TIMEOUT, positiveNumber, 30)
    .action(async (opts) => {
      const { indexListCommand } = await import('./index-items-command.js');
      await indexListCommand(opts);
    });

  index
    .command('delete')
    .description('remove items: by id, every item (--all), or those with a label (--where); an index of another model too, to empty it')
    .argument('[ids...]', 'item ids (as index list and search show them; an image\'s id is the first 32 hex digits of its SHA-256)')
    .option('--all', 'every item of the index')
    .option('--where <key=value>', 'the items with this label (as search takes it)', where)
    .option(...TIMEOUT, positiveNumber, 30)
    .addHelpText('after', '\nExamples:\n  alexnet index delete 3f2a...        # one item\n  alexnet index delete --where class=boots\n  alexnet index delete --all          # empty it (e.g. before indexing again with another model)')
    .action(async (ids: string[], opts: ClientOptionValues & { all?: boolean; where?: string[] }) => {
      const { indexDeleteCommand } = await import('./search-command.js');
      const { indexDeleteMatching } = await import('./index-items-command.js');
      const { ConfigError } = await import('../errors.js');
      const matching = opts.all === true || (opts.where?.length ?? 0) > 0;
      if (matching && ids.length > 0) throw new ConfigError('give ids, or --all / --where, not both');
      if (opts.all && opts.where?.length) throw new ConfigError('--all deletes every item: leave out --where, or --all to delete only the matching ones');
      if (!matching && ids.length === 0) throw new ConfigError('name the ids to delete, or --all, or --where key=value');
      await (matching ? indexDeleteMatching(opts) : indexDeleteCommand(ids, opts));
    });

  index
    .command('prune')
    .description("delete the items index add stored from files that are gone, or that were edited since (an edited photo is stored again under its new content's id; its old item stays until pruned); checks the paths on this machine")
    .option('--where <key=value>', 'only items with this label', where)
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option(...TIMEOUT, positiveNumber, 30)
    .option('--force', 'delete even when none of the stored files is on this machine (by default refused: the photos may be on a disk not mounted here)')
    .action(async (opts) => {
      const { indexPruneCommand } = await import('./index-items-command.js');
      await indexPruneCommand(opts);
    });

  program
    .command('search')
    .description('the stored images nearest to an image (Euclidean distance between fc7 vectors), nearest first')
    .argument('[image]', 'JPEG, PNG or WebP file (or --id)')
    .option('--id <id>', 'search from an item of the index instead of an image (its id, as search shows it; the item itself is left out)')
    .option('-k, --top-k <n>', 'hits to show (1-1000)', positiveInt, 10)
    .addOption(new Option('--k <n>').argParser(positiveInt).hideHelp())
    .option('--where <key=value>', 'only items with this label; repeat it for more keys (all must hold) or for more values of one key (any of them)', where)
    .option('--max-distance <d>', 'only hits at most this far', positiveNumber)
    .option('--json', 'print JSON instead of a table')
    .option(...TIMEOUT, positiveNumber, 30)
    .addHelpText('after', '\nExample:\n  alexnet index add photos/ && alexnet search photos/cat/1.jpg -k 5 --where class=cat\n  alexnet search --id 229d28702b2d719333d7e47c2daa1905 -k 5')
    .action(async (image: string | undefined, opts) => {
      const { searchCommand } = await import('./search-command.js');
      // --k: this option's spelling before it was -k, --top-k, as classify's.
      await searchCommand(image, { ...opts, topK: opts.k ?? opts.topK });
    });

  program
    .command('dedup')
    .description('groups of near-duplicate images: the files are added to the server\'s index (as index add does), then each is searched for others within --max-distance (Euclidean fc7 distance); chains of such pairs form one group')
    .argument('<paths...>', 'image files or folders (recursively)')
    .requiredOption('--max-distance <d>', 'fc7 distance at or below which two images are duplicates (0: identical fc7 only; byte-identical files always group; run `alexnet search` on a pair you consider duplicates to see their distance)', nonNegativeNumber)
    .option('--max-group <n>', 'most neighbours looked at per image (1-1000)', positiveInt, 100)
    .option('--json', 'print the groups as JSON: [{files, distances}]')
    .option(...TIMEOUT, positiveNumber, 30)
    .addHelpText('after', '\nExample:\n  alexnet dedup photos/ --max-distance 2')
    .action(async (paths: string[], opts) => {
      const { dedupCommand } = await import('./dedup-command.js');
      await dedupCommand(paths, opts);
    });
}
