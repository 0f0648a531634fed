/**
 * Stray bytes between a JPEG's header segments. Photo tools that rewrite EXIF with a wrong length
 * leave bytes where libjpeg expects the next marker; libjpeg skips them with the warning
 * "Corrupt JPEG data: N extraneous bytes before marker", and the pixels are whole. The decoder
 * runs with sharp's failOn 'warning' (so a truncated or damaged scan is refused), which would
 * refuse such a photo too: this drops exactly the bytes libjpeg's next_marker() would skip,
 * between SOI and the first SOS, and leaves the rest of the file as it is.
 */

const SOI = 0xd8;
const SOS = 0xda;

/** Markers that stand alone, with no length field after them: TEM, RST0-7, SOI, EOI. */
function standsAlone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/**
 * The JPEG without the stray bytes before its header markers; the same object when it has none,
 * or when it is not a JPEG or ends inside its header (the decoder then says what is wrong).
 */
export function dropStrayHeaderBytes(bytes: Buffer): Buffer {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return bytes;
  const kept: Buffer[] = [];
  let keptFrom = 0; // start of the part not yet copied into `kept`
  let at = 2;
  for (;;) {
    // As libjpeg's next_marker(): skip anything but 0xFF, then fill 0xFFs; FF 00 is skipped too.
    const strayFrom = at;
    let marker = -1;
    while (at < bytes.length) {
      while (at < bytes.length && bytes[at] !== 0xff) at++;
      while (at < bytes.length && bytes[at] === 0xff) at++;
      if (at >= bytes.length) break;
      if (bytes[at] !== 0x00) {
        marker = bytes[at]!;
        break;
      }
      at++;
    }
    if (marker < 0) return bytes;
    const markerAt = at - 1; // the 0xFF just before the marker byte
    if (markerAt > strayFrom) {
      kept.push(bytes.subarray(keptFrom, strayFrom));
      keptFrom = markerAt;
    }
    at++;
    if (marker === SOS) break;
    if (standsAlone(marker)) continue;
    if (at + 2 > bytes.length) return bytes;
    at += bytes.readUInt16BE(at);
  }
  if (kept.length === 0) return bytes;
  kept.push(bytes.subarray(keptFrom));
  return Buffer.concat(kept);
}
