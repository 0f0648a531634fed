/**
 * Image decoding: the ONLY module that imports sharp. Every image the trainer or the server
 * sees goes through `decodeToSquare`: format allow-list, pixel limit checked from the header,
 * EXIF orientation applied, alpha removed, grey/CMYK/16-bit converted to 8-bit sRGB, shorter
 * side resized to `size`, the central size x size square cut (§2), uint8 RGB out.
 */
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { ImageTooLargeError, InvalidImageError } from '../errors.js';
import { dropStrayHeaderBytes } from './jpeg-segments.js';

/** The formats accepted; everything else libvips knows (SVG, TIFF, GIF, PDF, ...) is refused. */
export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp'] as const;

export interface DecodeOptions {
  /** Side of the square output (the preset's base size: 256 for the paper). */
  size: number;
  /** Largest accepted width*height of the input, checked from the header before decoding. */
  maxPixels?: number;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;

// Each image is decoded once, so libvips' operation cache only costs time and memory (bench/RESULTS.md, decode).
// This module is the only one that imports sharp.
sharp.cache(false);

/** A decoded square image: size*size*3 uint8 RGB, row-major (HWC). */
export interface SquareImage {
  data: Uint8Array;
  size: number;
}

/** Sniff the container from its magic bytes, so no decoder of another format ever runs. */
export function sniffFormat(bytes: Uint8Array): (typeof ACCEPTED_FORMATS)[number] | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP') {
    return 'webp';
  }
  return null;
}

/** A PNG of 16-bit RGB or RGBA samples, by its IHDR (always the first chunk): bit depth 16, colour type 2 or 6. */
function isRgb16Png(bytes: Uint8Array): boolean {
  return bytes.length >= 26 && bytes[24] === 16 && (bytes[25] === 2 || bytes[25] === 6);
}

export async function decodeToSquare(bytes: Uint8Array, options: DecodeOptions): Promise<SquareImage> {
  const { size } = options;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new InvalidImageError('the image is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format) throw new InvalidImageError(`unsupported image format: only ${ACCEPTED_FORMATS.join(', ')} are accepted`);
  const given = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Stray bytes between header segments are skipped, as every viewer does; a damaged scan is still refused.
  const input = format === 'jpeg' ? dropStrayHeaderBytes(given) : given;
  const open = (limitInputPixels: number | false) => sharp(input, { failOn: 'warning', limitInputPixels, sequentialRead: true });
  let out: { data: Buffer; info: OutputInfo };
  try {
    // One pipeline: libvips reads the header first and refuses an image over the pixel limit
    // before decoding any pixel.
    let pipeline = open(maxPixels);
    // sharp converts a 16-bit RGB image with an ICC profile into Display P3, whose numbers would
    // pass for sRGB (red 200 read as 187): such a PNG goes to 8-bit sRGB first, its profile then
    // applied as an 8-bit one's. Only it: grey would lose its grey profile that way.
    if (format === 'png' && isRgb16Png(bytes)) pipeline = pipeline.pipelineColourspace('srgb');
    out = await pipeline
      .rotate() // apply EXIF orientation
      .toColourspace('srgb') // grey, CMYK, 16-bit -> 8-bit sRGB
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'lanczos3' }) // shorter side to size, center crop
      .flatten({ background: { r: 0, g: 0, b: 0 } }) // drop alpha
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    // Only on failure is the header read on its own, to say how large an image over the limit is.
    let meta: Metadata;
    try {
      meta = await open(false).metadata();
    } catch {
      throw new InvalidImageError(`cannot read the ${format} image: ${shortMessage(e)}`);
    }
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (width * height > maxPixels) throw new ImageTooLargeError(`the image is ${width}x${height} pixels, over the limit of ${maxPixels}`);
    // libvips keeps one error buffer for all threads: under load the decoder's own warning can be
    // replaced by this generic line, so it is said in words.
    const why = shortMessage(e);
    throw new InvalidImageError(`cannot decode the ${format} image: ${why.includes('failOn') ? `its data is damaged or cut short (${why})` : why}`);
  }
  const { info } = out;
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new InvalidImageError(`decoding gave ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength), size };
}

function shortMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 200);
}

/** Resize a square single-channel uint8 image (e.g. a 28x28 Fashion-MNIST digit) with bicubic interpolation. */
export async function resizeGrey(pixels: Uint8Array, side: number, size: number): Promise<Uint8Array> {
  const input = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const out = await sharp(input, { raw: { width: side, height: side, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    // Without this libvips writes 3-channel sRGB, and the first third of it is not the image.
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (out.info.channels !== 1 || out.data.length !== size * size) {
    throw new Error(`resizeGrey: expected ${size}x${size}x1, sharp gave ${out.info.width}x${out.info.height}x${out.info.channels}`);
  }
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

/** Encode width x height x 3 uint8 RGB as PNG or JPEG (synthetic data, fixtures). */
export async function encodeRgb(pixels: Uint8Array, width: number, height: number, format: 'png' | 'jpeg', quality = 92): Promise<Buffer> {
  const img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality }).toBuffer();
}

/** Decode a JPEG record of a prepared cache (written by encodeRgb at size x size): its pixels as they are, nothing resized. */
export async function decodeRecord(jpeg: Uint8Array, size: number): Promise<Uint8Array> {
  const input = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  const out = await sharp(input, { failOn: 'warning' }).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (out.info.width !== size || out.info.height !== size || out.info.channels !== 3) {
    throw new InvalidImageError(`a prepared image decoded to ${out.info.width}x${out.info.height}x${out.info.channels}, expected ${size}x${size}x3: prepare the data again`);
  }
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}
