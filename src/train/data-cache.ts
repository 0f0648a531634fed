/**
 * The prepared data set, read (its layout: cache-format.ts; writing it: cache-writer.ts): its meta, mean image and labels at once (small), its images one
 * record at a time by positional reads, so memory does not grow with the data set. A batch
 * worker opens a RecordReader on its split; `alexnet eval` reads the same way.
 */
import { closeSync, fstatSync, openSync, readSync, promises as fs } from 'node:fs';
import { ConfigError } from '../errors.js';
import { decodeRecord } from '../image/decode.js';
import { readCacheMeta, splitFiles, type DataCache, type Split, type SplitName } from './cache-format.js';

/** A file read whole into a SharedArrayBuffer (worker threads then share it without copies), checked for its size. */
async function readShared(file: string, expectedBytes: number): Promise<SharedArrayBuffer> {
  const handle = await fs.open(file, 'r').catch((e: Error) => {
    throw new ConfigError(`cannot read data cache file ${file}: ${e.message.split('\n')[0]}: prepare the data again`);
  });
  try {
    const { size } = await handle.stat();
    if (size !== expectedBytes) throw new ConfigError(`data cache file ${file} has ${size} bytes, expected ${expectedBytes}: prepare the data again`);
    const shared = new SharedArrayBuffer(size);
    const view = new Uint8Array(shared);
    for (let read = 0; read < size; ) {
      const { bytesRead } = await handle.read(view, read, Math.min(1 << 26, size - read), read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return shared;
  } finally {
    await handle.close();
  }
}

export async function readDataCache(dir: string): Promise<DataCache> {
  const meta = await readCacheMeta(dir);
  const px = meta.baseSize * meta.baseSize * 3;
  const splits: Partial<Record<SplitName, Split>> = {};
  for (const [name, count] of Object.entries(meta.counts) as [SplitName, number][]) {
    const files = splitFiles(dir, name, meta.store);
    const labels = new Uint16Array(await readShared(files.labels, count * 2));
    const st = await fs.stat(files.images).catch(() => undefined);
    const size = st?.size ?? -1;
    if (size < 0) throw new ConfigError(`data cache file ${files.images} is missing: prepare the data again`);
    if (meta.store === 'raw' && size !== count * px) throw new ConfigError(`data cache file ${files.images} has ${size} bytes, expected ${count * px}: prepare the data again`);
    splits[name] = { count, labels, store: meta.store, file: files.images, ino: st!.ino, ...(meta.store === 'jpeg' ? { offsetsFile: files.offsets } : {}) };
  }
  const mean = new Float32Array(await readShared(`${dir}/mean.f32`, px * 4));
  return { dir, meta, mean, splits };
}

/** Reads one split's images by index: a view of memory, a positional read of a raw record, or a JPEG read and decoded. */
export class RecordReader {
  private fd: number | undefined;
  private offsetsFd: number | undefined;
  private readonly offsetPair = new Float64Array(2);

  constructor(private readonly split: Split, private readonly baseSize: number) {}

  get count(): number {
    return this.split.count;
  }

  /** The image at `index`: baseSize*baseSize*3 uint8. A memory split answers a view (do not write to it). */
  async read(index: number): Promise<Uint8Array> {
    if (!Number.isInteger(index) || index < 0 || index >= this.split.count) throw new RangeError(`image ${index} is not in a split of ${this.split.count}`);
    const px = this.baseSize * this.baseSize * 3;
    if ('images' in this.split) return this.split.images.subarray(index * px, (index + 1) * px);
    const disk = this.split;
    if (this.fd === undefined) {
      const fd = openSync(disk.file, 'r');
      // Labels and counts were read with the cache: images of a cache prepared again since would pair with the wrong labels.
      if (disk.ino !== undefined && fstatSync(fd).ino !== disk.ino) {
        closeSync(fd);
        throw new ConfigError(`${disk.file} was prepared again after this run read its cache: its images no longer match the labels read; run the command again (a training run: with --resume)`);
      }
      this.fd = fd;
    }
    if (disk.store === 'raw') return this.readAt(this.fd, new Uint8Array(px), index * px, disk.file);
    this.offsetsFd ??= openSync(disk.offsetsFile!, 'r');
    this.readAt(this.offsetsFd, new Uint8Array(this.offsetPair.buffer), index * 8, disk.offsetsFile!);
    const [start, end] = this.offsetPair;
    return decodeRecord(this.readAt(this.fd, new Uint8Array(end! - start!), start!, disk.file), this.baseSize);
  }

  private readAt(fd: number, into: Uint8Array, position: number, file: string): Uint8Array {
    for (let done = 0; done < into.length; ) {
      const n = readSync(fd, into, done, into.length - done, position + done);
      if (n === 0) throw new ConfigError(`data cache file ${file} ends early: prepare the data again`);
      done += n;
    }
    return into;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    if (this.offsetsFd !== undefined) closeSync(this.offsetsFd);
    this.fd = this.offsetsFd = undefined;
  }
}

export { cacheExists, cacheState, type CacheMeta, type DataCache, type DiskSplit, type MemorySplit, type Split, type SplitName } from './cache-format.js';
