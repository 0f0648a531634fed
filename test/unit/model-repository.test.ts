import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { chooseVersion, listVersions, parseVersionPolicy, resolveModelName } from '../../src/model/model-repository.js';
import { tempDir } from '../temp-dir.js';

async function version(dir: string, name: string, v: string): Promise<void> {
  await fs.mkdir(path.join(dir, name, v), { recursive: true });
  await fs.writeFile(path.join(dir, name, v, 'model.onnx'), 'x');
}

test('versions are the directories named by whole numbers; a half-published one under another name is not seen', async (t) => {
  const dir = await tempDir('repo');
  for (const v of ['1', '2', '10', '.3.partial', '3.tmp', 'incoming', '007', '0']) await version(dir, 'cats', v);
  await fs.writeFile(path.join(dir, 'cats', '11'), 'a file, not a version');
  t.deepEqual((await listVersions(dir, 'cats')).map((v) => v.version), [1, 2, 10]);
  const latest = await chooseVersion(dir, 'cats', parseVersionPolicy('latest'));
  t.is(latest.version, 10);
  t.is(latest.file, path.join(dir, 'cats', '10', 'model.onnx'));
  t.is((await chooseVersion(dir, 'cats', parseVersionPolicy('2'))).version, 2);
  await t.throwsAsync(chooseVersion(dir, 'cats', parseVersionPolicy('4')), { message: /has no version 4 .*it has: 1, 2, 10/ });
});

test('a volume mounted as the repository: its lost+found (mkfs makes one at the root of ext4) is not a model', async (t) => {
  const dir = await tempDir('repo');
  await fs.mkdir(path.join(dir, 'lost+found'), { mode: 0o700 });
  await t.throwsAsync(resolveModelName(dir), { message: new RegExp(`${dir} holds no model: put versions in ${dir}/<name>/<version>/model.onnx`) });
  await version(dir, 'cats', '1');
  t.is(await resolveModelName(dir), 'cats');
  await t.throwsAsync(resolveModelName(dir, 'lost+found'), { message: /has no model 'lost\+found' \(it has: cats\)/ });
});

test('the model name: the only one there, or the one named; clear refusals otherwise', async (t) => {
  const dir = await tempDir('repo');
  await t.throwsAsync(resolveModelName(path.join(dir, 'nope')), { message: /does not exist/ });
  await t.throwsAsync(resolveModelName(dir), { message: /holds no model/ });
  await version(dir, 'cats', '1');
  await fs.mkdir(path.join(dir, '.trash'));
  // The index a server keeps beside the model (its default --index) is not a second model.
  await fs.mkdir(path.join(dir, 'cats.index'));
  t.is(await resolveModelName(dir), 'cats');
  await t.throwsAsync(resolveModelName(dir, 'cats.index'), { message: /names a similarity index, not a model/ });
  await version(dir, 'dogs', '1');
  await t.throwsAsync(resolveModelName(dir), { message: /several models \(cats, dogs\).*--model-name/ });
  t.is(await resolveModelName(dir, 'dogs'), 'dogs');
  await t.throwsAsync(resolveModelName(dir, 'birds'), { message: /no model 'birds'/ });
  await fs.mkdir(path.join(dir, 'empty'));
  await t.throwsAsync(chooseVersion(dir, 'empty', { kind: 'latest' }), { message: /has no version yet/ });
  t.throws(() => parseVersionPolicy('1.5'), { message: /neither 'latest' nor/ });
  t.throws(() => parseVersionPolicy('0'), { message: /neither 'latest' nor/ });
});

test('a repository of links, as a Kubernetes volume mounts one (entries linked into ..data) and a version linked to an export elsewhere: the links are followed, a dangling one is no version', async (t) => {
  const dir = await tempDir('repo');
  const exports = await tempDir('exports');
  // The volume's layout: the files in a timestamped directory, `..data` linking to it, each entry a link through `..data`.
  await version(path.join(dir, '..2026_12_07_10_00_00.1'), 'cats', '1');
  await fs.symlink('..2026_12_07_10_00_00.1', path.join(dir, '..data'));
  await fs.symlink(path.join('..data', 'cats'), path.join(dir, 'cats'));
  await version(exports, 'run7', '');
  await fs.symlink(path.join(exports, 'run7'), path.join(dir, '..data', 'cats', '2'));
  await fs.symlink(path.join(exports, 'gone'), path.join(dir, '..data', 'cats', '3'));
  t.is(await resolveModelName(dir), 'cats');
  t.deepEqual((await listVersions(dir, 'cats')).map((v) => v.version), [1, 2]);
  const latest = await chooseVersion(dir, 'cats', parseVersionPolicy('latest'));
  t.is(latest.file, path.join(dir, 'cats', '2', 'model.onnx'));
  t.is(await fs.readFile(latest.file, 'utf8'), 'x');
});
