/**
 * Local response normalization (§3.3) in each framework's terms: the ONE place the paper's
 * constants are converted. Paper: b_i = a_i / (k + alpha * sum_{j in window of n} a_j^2)^beta.
 */
import type { LrnSpec } from '../config.js';
import { ConfigError } from '../errors.js';

/** tfjs / TF `localResponseNormalization(x, depthRadius, bias, alpha, beta)`: window 2r+1, bias + alpha*sum. */
export interface TfjsLrn {
  depthRadius: number;
  bias: number;
  alpha: number;
  beta: number;
}

/** ONNX `LRN(size, alpha, beta, bias)`: bias + (alpha/size)*sum, so alpha must be multiplied by n. */
export interface OnnxLrn {
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}

function checkOdd(lrn: LrnSpec): void {
  if (!Number.isInteger(lrn.size) || lrn.size < 1 || lrn.size % 2 !== 1) {
    throw new ConfigError(`LRN size must be an odd positive integer, got ${lrn.size}`);
  }
}

export function lrnToTfjs(lrn: LrnSpec): TfjsLrn {
  checkOdd(lrn);
  return { depthRadius: (lrn.size - 1) / 2, bias: lrn.k, alpha: lrn.alpha, beta: lrn.beta };
}

export function lrnToOnnx(lrn: LrnSpec): OnnxLrn {
  checkOdd(lrn);
  return { size: lrn.size, alpha: lrn.alpha * lrn.size, beta: lrn.beta, bias: lrn.k };
}
