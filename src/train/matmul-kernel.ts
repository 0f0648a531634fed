/**
 * BatchMatMul with transposed operands on tfjs-backend-wasm, rewritten onto its fast path.
 *
 * wasm's BatchMatMul is fast only without transposes (see bench/RESULTS.md, wasm transposed
 * matmul): the backward products go through the fast path instead, x^T @ dy = transpose(x) @ dy
 * and dy @ W^T = transpose(W @ transpose(dy)) (only the small operands are transposed).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

type Backend = tf.KernelBackend & { disposeData(dataId: unknown): boolean };

export function matMulViaFastPath(own: KernelFunc, transpose: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const rank = a.shape.length;
    const sameBatch = rank === b.shape.length && a.shape.slice(0, -2).join() === b.shape.slice(0, -2).join();
    if ((!transposeA && !transposeB) || !sameBatch) return own(args);
    const backend = args.backend as Backend;
    const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
    const temps: TensorInfo[] = [];
    const t = (x: TensorInfo) => {
      const y = transpose({ inputs: { x }, backend, attrs: { perm } as never }) as TensorInfo;
      temps.push(y);
      return y;
    };
    const mm = (x: TensorInfo, y: TensorInfo) => {
      const z = own({ inputs: { a: x, b: y }, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } as never }) as TensorInfo;
      temps.push(z);
      return z;
    };
    let out: TensorInfo;
    if (transposeA && !transposeB) out = mm(t(a), b); // A^T B
    else if (!transposeA && transposeB) out = t(mm(b, t(a))); // A B^T = (B A^T)^T
    else out = t(mm(b, a)); // A^T B^T = (B A)^T
    for (const x of temps) if (x !== out) backend.disposeData(x.dataId);
    return out;
  };
}

let registered = false;

export function registerWasmMatMul(): void {
  if (registered) return;
  const own = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!own || !transpose) return;
  registered = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...own, kernelFunc: matMulViaFastPath(own.kernelFunc, transpose.kernelFunc) });
}
