/**
 * The paper's update rule (§5), exactly:
 *   v <- momentum*v - weightDecay*lr*w - lr*grad
 *   w <- w + v
 * tfjs's tf.train.momentum keeps acc <- m*acc + g; w <- w - lr*acc and has no weight decay: it
 * agrees only while lr is constant (a drop rescales the old momentum at once). Here v holds the
 * step itself, so changing lr leaves v untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../model/tensor.js';

export interface SgdOptions {
  learningRate: number;
  momentum: number;
  weightDecay: number;
}

export class PaperSgd {
  learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(options: SgdOptions) {
    this.learningRate = options.learningRate;
    this.momentum = options.momentum;
    this.weightDecay = options.weightDecay;
  }

  /** Apply one step to each variable of `params` that has a gradient in `grads`. */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    const lr = this.learningRate;
    tf.tidy(() => {
      for (const [name, w] of params) {
        const g = grads[name];
        if (!g) continue;
        let v = this.velocity.get(name);
        if (!v) {
          v = tf.variable(tf.zerosLike(w), false);
          this.velocity.set(name, v);
        }
        const next = tf.sub(tf.sub(tf.mul(v, this.momentum), tf.mul(w, this.weightDecay * lr)), tf.mul(g, lr));
        v.assign(next);
        w.assign(tf.add(w, next));
      }
    });
  }

  /** Velocities for a checkpoint, named `<param>@velocity`. */
  async state(): Promise<NamedTensor[]> {
    const out: NamedTensor[] = [];
    for (const [name, v] of this.velocity) {
      out.push({ name: `${name}@velocity`, shape: [...v.shape], data: (await v.data()) as Float32Array });
    }
    return out;
  }

  /** Restore velocities saved by state(). */
  load(tensors: Iterable<NamedTensor>): void {
    for (const t of tensors) {
      if (!t.name.endsWith('@velocity')) continue;
      const name = t.name.slice(0, -'@velocity'.length);
      this.velocity.get(name)?.dispose();
      this.velocity.set(name, tf.variable(tf.tensor(t.data, t.shape, "float32"), false));
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
