/**
 * The one place where errors become gRPC statuses. What a caller can act on gets a specific code
 * and the message; anything unexpected gets INTERNAL with a generic message, its cause logged.
 */
import { status as Status } from '@grpc/grpc-js';
import { CancelledError, DeadlineError, FailedPreconditionError, ImageTooLargeError, InvalidImageError, NotFoundError, OverloadedError, UnavailableError } from '../errors.js';

/** A request field that is not valid (INVALID_ARGUMENT). */
export class BadRequestError extends Error {}

export interface MappedStatus {
  code: Status;
  details: string;
  /** True when the cause is a bug or a failure of ours: log it with its stack. */
  internal: boolean;
}

/**
 * Longest details sent, in characters. Details travel percent-encoded in the trailers, and a
 * client refuses trailers past its header limit (grpc-js: 64 KiB) by hanging the whole
 * connection: a message quoting what a caller sent (a model name, an input's name) is cut here.
 */
export const MAX_DETAILS = 4096;

/** `text` cut to MAX_DETAILS characters, never inside a surrogate pair (grpc-js's encodeURI throws on half of one). */
export function cutDetails(text: string): string {
  if (text.length <= MAX_DETAILS) return text;
  const end = /[\uD800-\uDBFF]/.test(text[MAX_DETAILS - 1]!) ? MAX_DETAILS - 1 : MAX_DETAILS;
  return `${text.slice(0, end)}... (${text.length} characters, cut)`;
}

export function toStatus(e: unknown): MappedStatus {
  const message = cutDetails((e as Error)?.message ?? String(e));
  if (e instanceof InvalidImageError || e instanceof BadRequestError) return { code: Status.INVALID_ARGUMENT, details: message, internal: false };
  if (e instanceof ImageTooLargeError || e instanceof OverloadedError) return { code: Status.RESOURCE_EXHAUSTED, details: message, internal: false };
  if (e instanceof UnavailableError) return { code: Status.UNAVAILABLE, details: message, internal: false };
  if (e instanceof DeadlineError) return { code: Status.DEADLINE_EXCEEDED, details: message, internal: false };
  if (e instanceof CancelledError) return { code: Status.CANCELLED, details: message, internal: false };
  if (e instanceof FailedPreconditionError) return { code: Status.FAILED_PRECONDITION, details: message, internal: false };
  if (e instanceof NotFoundError) return { code: Status.NOT_FOUND, details: message, internal: false };
  return { code: Status.INTERNAL, details: 'internal error (logged on the server)', internal: true };
}
