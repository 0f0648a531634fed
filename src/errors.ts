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

/** The server's queue is full: the caller should retry later (RESOURCE_EXHAUSTED). */
export class OverloadedError extends AlexNetError {}

/** The server is not ready or is shutting down (UNAVAILABLE). */
export class UnavailableError extends AlexNetError {}

/** The call's deadline passed before its image reached the model (DEADLINE_EXCEEDED). */
export class DeadlineError extends AlexNetError {}

/** The caller cancelled the call before its image reached the model (CANCELLED). */
export class CancelledError extends AlexNetError {}

/** Training diverged (the loss is no longer a number): the learning rate is too high for the network and data. */
export class TrainingDivergedError extends AlexNetError {}

/** Long work stopped by the user (Ctrl-C, SIGTERM) after saving what it had: run it again to go on. */
export class InterruptedError extends AlexNetError {}

/** A request that cannot be served in the current state, e.g. an index made by another model (FAILED_PRECONDITION). */
export class FailedPreconditionError extends AlexNetError {}

/** A stored item asked for by id that is not there (NOT_FOUND). */
export class NotFoundError extends AlexNetError {}
