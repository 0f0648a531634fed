/**
 * Typed errors. The CLI prints `message` and exits 1 for any of these (user error); anything
 * else is a bug and is printed with its stack.
 */
export class AlexNetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A preset, option or override that is not valid. */
export class ConfigError extends AlexNetError {}

/** A checkpoint that is missing, unreadable, corrupt or of an unknown format. */
export class CheckpointError extends AlexNetError {}

/** An ONNX model file that is missing, unreadable or not one of ours. */
export class ModelFileError extends AlexNetError {}

/** An image that cannot be decoded or is not acceptable (format, size, content). */
export class InvalidImageError extends AlexNetError {}

/** An image whose pixel count is over the configured limit. */
export class ImageTooLargeError extends AlexNetError {}

/** A requested backend or execution provider that cannot run on this machine. */
export class BackendUnavailableError extends AlexNetError {}
