/**
 * A small synthetic data set of real image files (written with sharp) in the folder layout
 * `DIR/train/<class>/*.png|jpg` and `DIR/val/<class>/...`, with classes a network learns in
 * seconds: each class is a colour-and-stripe pattern, with random brightness, offset and noise.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeRgb } from '../image/decode.js';
import { Rng } from '../util/rng.js';

export const SYNTHETIC_CLASSES = ['red-horizontal', 'green-vertical', 'blue-diagonal', 'grey-checks'];

export interface SyntheticOptions {
  out: string;
  perClassTrain: number;
  perClassVal: number;
  size?: number;
  classes?: number;
  seed?: number;
}

function pixel(cls: number, x: number, y: number, phase: number): [number, number, number] {
  const on = [
    Math.floor((y + phase) / 4) % 2 === 0,
    Math.floor((x + phase) / 4) % 2 === 0,
    Math.floor((x + y + phase) / 5) % 2 === 0,
    (Math.floor((x + phase) / 6) + Math.floor(y / 6)) % 2 === 0,
  ][cls % 4]!;
  const colour: [number, number, number][] = [[220, 40, 40], [40, 200, 60], [50, 70, 230], [200, 200, 200]];
  return on ? colour[cls % 4]! : [30, 30, 30];
}

export async function writeSyntheticDataset(options: SyntheticOptions): Promise<string[]> {
  const size = options.size ?? 40;
  const classes = SYNTHETIC_CLASSES.slice(0, options.classes ?? 4);
  const rng = new Rng(options.seed ?? 1);
  for (const [split, count] of [['train', options.perClassTrain], ['val', options.perClassVal]] as const) {
    for (const [c, name] of classes.entries()) {
      const dir = path.join(options.out, split, name);
      await fs.mkdir(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const raw = Buffer.alloc(size * size * 3);
        const phase = rng.int(8);
        const gain = 0.7 + 0.6 * rng.uniform();
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const p = pixel(c, x, y, phase);
            for (let k = 0; k < 3; k++) raw[(y * size + x) * 3 + k] = Math.max(0, Math.min(255, p[k]! * gain + rng.normal() * 12));
          }
        // Mix formats as a user's folder would.
        const buf = await encodeRgb(raw, size, size, i % 2 === 0 ? 'png' : 'jpeg');
        await fs.writeFile(path.join(dir, `${name}-${i}.${i % 2 === 0 ? 'png' : 'jpg'}`), buf);
      }
    }
  }
  return classes;
}
