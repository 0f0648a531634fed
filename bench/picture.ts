/** Synthetic photos for the serving benchmarks: distinct, natural-ish, reproducible from a seed. */
import type { Rng } from '../src/util/rng.js';

/** A natural-ish picture: a sky-to-ground gradient with a soft horizon, soft blobs, slow shading and grain. */
export function picture(rng: Rng, width: number, height: number): Uint8Array {
  const colour = () => [rng.int(256), rng.int(256), rng.int(256)];
  const top = colour();
  const bottom = colour();
  const horizon = height * (0.3 + 0.4 * rng.uniform());
  const blobs = Array.from({ length: 3 + rng.int(4) }, () => ({
    x: rng.uniform() * width,
    y: rng.uniform() * height,
    rx: 8 + rng.uniform() * 50,
    ry: 8 + rng.uniform() * 40,
    c: colour(),
  }));
  const fx = rng.uniform() * 0.08;
  const fy = rng.uniform() * 0.08;
  const phase = rng.uniform() * 2 * Math.PI;
  const px = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const t = 1 / (1 + Math.exp(-(y - horizon) / 4));
    for (let x = 0; x < width; x++) {
      const shade = 1 + 0.15 * Math.sin(x * fx + y * fy + phase);
      const v = [0, 1, 2].map((c) => top[c]! * (1 - t) + bottom[c]! * t);
      for (const b of blobs) {
        const d = ((x - b.x) / b.rx) ** 2 + ((y - b.y) / b.ry) ** 2;
        const a = 1 / (1 + Math.exp((d - 1) * 6));
        for (let c = 0; c < 3; c++) v[c] = v[c]! * (1 - a) + b.c[c]! * a;
      }
      for (let c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v[c]! * shade + rng.normal() * 6)));
    }
  }
  return px;
}
