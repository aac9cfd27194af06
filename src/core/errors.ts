/**
 * CumulusError is an error a user can reach: it carries a stable `code` and a `hint`
 * (the next step). The CLI turns the code into an exit code and the server into an
 * HTTP status, only at the edge. Bugs stay plain `Error`.
 */
export type ErrorCode =
  | 'usage'
  | 'wrong_password'
  | 'key_damaged'
  | 'not_a_repository'
  | 'repository_exists'
  | 'source_missing'
  | 'target_not_empty'
  | 'snapshot_not_found'
  | 'blob_missing'
  | 'corrupt'
  | 'disk_full'
  | 'partial'
  | 'quota_exceeded'
  | 'not_found'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'rate_limited'
  | 'update_required'
  | 'network'
  | 'invalid_input'
  | 'too_large'
  | 'unsupported_media_type'
  | 'expired'
  | 'unavailable';

export class CumulusError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CumulusError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }
}

export function isCumulusError(error: unknown, code?: ErrorCode): error is CumulusError {
  return error instanceof CumulusError && (code === undefined || error.code === code);
}

/** fromSystemError maps the filesystem errors a user can cause to CumulusErrors. */
export function fromSystemError(error: unknown, what: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CumulusError('disk_full', `no space left on the device while writing ${what}`, {
      hint: 'free some space and run the command again; nothing already stored was lost',
      cause: error,
    });
  }
  return error;
}
