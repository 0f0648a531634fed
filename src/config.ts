/**
 * Typed presets: the network as data plus the training recipe's defaults.
 *
 * `paper` is AlexNet exactly as in Krizhevsky et al. 2012 (section numbers below refer to the
 * paper). `mini` and `tiny` keep the same
 * topology (5 conv + 3 fc, LRN after conv1/conv2, 3/2 overlapping max-pool after conv1, conv2
 * and conv5, two groups on conv2/4/5, dropout 0.5 on fc6/fc7) at reduced width and input size.
 */
import { ConfigError } from './errors.js';

export type LayerName = 'conv1' | 'conv2' | 'conv3' | 'conv4' | 'conv5' | 'fc6' | 'fc7' | 'fc8';
export const CONV_NAMES = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;
export const FC_NAMES = ['fc6', 'fc7', 'fc8'] as const;

export interface ConvSpec {
  name: (typeof CONV_NAMES)[number];
  /** Number of kernels (output channels). */
  filters: number;
  /** Square kernel size. */
  kernel: number;
  stride: number;
  /** Symmetric zero padding on each side. */
  pad: number;
  /** 2 = the two-GPU split of §3.2/§3.5: each half of the kernels sees one half of the input maps. */
  groups: 1 | 2;
  /** Local response normalization after the ReLU (§3.3). */
  lrn: boolean;
  /** Overlapping max-pool (size 3, stride 2, §3.4) after the ReLU (and LRN). */
  pool: boolean;
}

export interface LrnSpec {
  /** n: number of adjacent kernel maps summed over (§3.3). */
  size: number;
  /** alpha as written in the paper (NOT divided by n). */
  alpha: number;
  beta: number;
  k: number;
}

export interface NetworkSpec {
  /** Side of the square crop the network sees (227 for the paper: 224 as printed in §3.5 does not give its 55x55 maps). */
  inputSize: number;
  /** Side of the square image the crops are cut from (256 in §2). */
  baseSize: number;
  conv: readonly ConvSpec[];
  /** Units of fc6 and fc7 (4096 each in §3.5); fc8 has one unit per class. */
  fcUnits: readonly [number, number];
  /** Dropout rate on fc6 and fc7 outputs during training (§4.2). */
  dropout: number;
  lrn: LrnSpec;
  pool: { size: number; stride: number };
  init: {
    /** Standard deviation of the zero-mean Gaussian for every weight (§5). */
    weightStd: number;
    /** Layers whose biases start at `biasOneValue` (§5: conv2, conv4, conv5, fc6, fc7); others at 0. */
    biasOneLayers: readonly LayerName[];
    biasOneValue: number;
  };
}

export interface TrainDefaults {
  batchSize: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  /** Divide the learning rate by this when validation error has not improved for `patience` epochs. */
  lrDropFactor: number;
  patience: number;
  epochs: number;
}

export interface Preset {
  name: PresetName;
  description: string;
  network: NetworkSpec;
  train: TrainDefaults;
}

export type PresetName = 'paper' | 'mini' | 'tiny';

/** §3.3: k = 2, n = 5, alpha = 1e-4, beta = 0.75. */
export const PAPER_LRN: LrnSpec = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 };
const POOL = { size: 3, stride: 2 };
/**
 * The small presets keep the paper's init scheme (zero-mean Gaussians, some biases positive) at
 * a larger deviation: with 0.01 their thinner layers (fan-in 27 to 576 instead of 363 to 9216)
 * lose the input on the way up (logits varying by 1e-10 between images for tiny, vs 4e-3 for
 * the paper at 0.01). The deviations below give the paper's regime (1e-2 to 7e-3); the biases
 * of 1 become 0.1 (Caffe's choice).
 */
const smallInit = (weightStd: number) => ({ ...PAPER_INIT, weightStd, biasOneValue: 0.1 });
const PAPER_INIT = {
  weightStd: 0.01,
  biasOneLayers: ['conv2', 'conv4', 'conv5', 'fc6', 'fc7'] as LayerName[],
  biasOneValue: 1,
};

/** §5: batch 128, momentum 0.9, weight decay 0.0005, lr 0.01 divided by 10 on a plateau, ~90 epochs. */
const PAPER_TRAIN: TrainDefaults = {
  batchSize: 128,
  learningRate: 0.01,
  momentum: 0.9,
  weightDecay: 0.0005,
  lrDropFactor: 10,
  patience: 1,
  epochs: 90,
};

const PAPER: Preset = {
  name: 'paper',
  description: 'AlexNet as in the paper: 227x227 crops of 256x256 images, 60,965,224 parameters at 1000 classes.',
  network: {
    // 227 unpadded (as Caffe): (227-11)/4+1 = 55 -> pool 27 -> pool 13 -> pool 6 (§3.5's 55x55 maps).
    inputSize: 227,
    baseSize: 256,
    conv: [
      { name: 'conv1', filters: 96, kernel: 11, stride: 4, pad: 0, groups: 1, lrn: true, pool: true },
      { name: 'conv2', filters: 256, kernel: 5, stride: 1, pad: 2, groups: 2, lrn: true, pool: true },
      { name: 'conv3', filters: 384, kernel: 3, stride: 1, pad: 1, groups: 1, lrn: false, pool: false },
      { name: 'conv4', filters: 384, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: false },
      { name: 'conv5', filters: 256, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: true },
    ],
    fcUnits: [4096, 4096],
    dropout: 0.5,
    lrn: PAPER_LRN,
    pool: POOL,
    init: PAPER_INIT,
  },
  train: PAPER_TRAIN,
};

/**
 * mini: sized for a 2-core CPU on Fashion-MNIST (28x28 grey, upsampled to 40x40).
 * 35x35 crops of 40x40 images keep the paper's crop margin (227/256 = 0.89, 35/40 = 0.88).
 * conv1 uses 5x5 kernels at stride 1 (an 11x11 stride-4 kernel would reduce a 35 px crop to 7
 * px before the first pool); the pools then give 31 -> 15 -> 7 -> 3, the paper's three
 * overlapping 3/2 pools. Widths are one third of the paper's, fc 512: about 15 M multiply-adds
 * per crop, 1/50 of the paper's 724 M.
 */
const MINI: Preset = {
  name: 'mini',
  description: 'Same topology for a CPU: 35x35 crops of 40x40 images, widths 32/64/96/96/64, fc 512.',
  network: {
    inputSize: 35,
    baseSize: 40,
    conv: [
      { name: 'conv1', filters: 32, kernel: 5, stride: 1, pad: 0, groups: 1, lrn: true, pool: true },
      { name: 'conv2', filters: 64, kernel: 5, stride: 1, pad: 2, groups: 2, lrn: true, pool: true },
      { name: 'conv3', filters: 96, kernel: 3, stride: 1, pad: 1, groups: 1, lrn: false, pool: false },
      { name: 'conv4', filters: 96, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: false },
      { name: 'conv5', filters: 64, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: true },
    ],
    fcUnits: [512, 512],
    dropout: 0.5,
    lrn: PAPER_LRN,
    pool: POOL,
    init: smallInit(0.03),
  },
  // Patience 4 for Fashion-MNIST's noisy validation error (bench/RESULTS.md, mini patience).
  train: { ...PAPER_TRAIN, epochs: 50, patience: 4 },
};

/** tiny: the same topology in a few thousand parameters, for tests that run in seconds. */
const TINY: Preset = {
  name: 'tiny',
  description: 'Same topology for tests: 25x25 crops of 29x29 images, widths 8/8/12/12/8, fc 16.',
  network: {
    // 25 -> conv1 (3x3, stride 1) 23 -> pool 11 -> pool 5 -> pool 2: the last maps stay 2x2 so
    // the (h, w, c) -> (c, h, w) flatten order of fc6 matters in tests, as it does for the paper.
    inputSize: 25,
    baseSize: 29,
    conv: [
      { name: 'conv1', filters: 8, kernel: 3, stride: 1, pad: 0, groups: 1, lrn: true, pool: true },
      { name: 'conv2', filters: 8, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: true, pool: true },
      { name: 'conv3', filters: 12, kernel: 3, stride: 1, pad: 1, groups: 1, lrn: false, pool: false },
      { name: 'conv4', filters: 12, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: false },
      { name: 'conv5', filters: 8, kernel: 3, stride: 1, pad: 1, groups: 2, lrn: false, pool: true },
    ],
    fcUnits: [16, 16],
    dropout: 0.5,
    lrn: PAPER_LRN,
    pool: POOL,
    init: smallInit(0.1),
  },
  train: { ...PAPER_TRAIN, batchSize: 16, epochs: 2, patience: 1 },
};

/** The preset a command uses when none is named. */
export const DEFAULT_PRESET: PresetName = 'mini';

/** A new training run's settings that do not depend on the preset (each an `alexnet train` option or fixed). */
export interface RunDefaults {
  maxDrops: number;
  lightingStd: number;
  seed: number;
  tenCropEachEpoch: boolean;
  workers: number;
}

export const RUN_DEFAULTS: Readonly<RunDefaults> = {
  /** §5: the learning rate was reduced three times before training stopped: stop at the plateau after the third drop. */
  maxDrops: 3,
  /** §4.1: the PCA lighting multipliers are drawn from a Gaussian of standard deviation 0.1. */
  lightingStd: 0.1,
  /** Seeds the init, the epoch order, the augmentation and dropout (--seed). */
  seed: 1,
  /** Validate each epoch with the ten crops of §4.1 as well as the center crop (the paper reports ten-crop error). */
  tenCropEachEpoch: true,
  /** Worker threads cutting batches (--workers); raise it when an epoch's "data wait" is high. */
  workers: 1,
};

export const PRESETS: Readonly<Record<PresetName, Preset>> = { paper: PAPER, mini: MINI, tiny: TINY };

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

export function getPreset(name: string): Preset {
  if (!isPresetName(name)) {
    throw new ConfigError(`unknown preset '${name}': choose one of ${Object.keys(PRESETS).join(', ')}`);
  }
  return PRESETS[name];
}
