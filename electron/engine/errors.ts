// Errors the user can act on. Every message names the file (and line, zip entry, step or drive) and what to do.
import type { ErrorDetail, MessageParams } from '../../shared/messages.js';

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  entry?: string;
}

/** A code and its values, for the wizard to say the error in its own language (docs/reference/error-codes.md). */
export interface InputErrorOptions {
  code?: string;
  params?: MessageParams;
}

/**
 * Invalid input: a file or option the user gave is wrong. The CLI exits 1 and prints the message, never a stack.
 * The errors the wizard meets most also carry a `code` and `params` (the message stays the English sentence).
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code: string | undefined;
  readonly params: MessageParams | undefined;
  constructor(
    message: string,
    readonly location: ErrorLocation = {},
    options: InputErrorOptions = {},
  ) {
    super(withLocation(message, location));
    this.code = options.code;
    this.params = options.code ? (options.params ?? {}) : undefined;
  }

  /** The code and values, when the error has a code. */
  get detail(): ErrorDetail | null {
    return this.code ? { code: this.code, params: this.params ?? {} } : null;
  }
}

/** An InputError with a code and its values: `codedInputError('DRIVE_NOT_CONNECTED', { device }, 'drive … is not connected.')`. */
export function codedInputError(code: string, params: MessageParams, message: string): InputError {
  return new InputError(message, {}, { code, params });
}

/** Content in a content library that does not match what the library says about it. */
export class ContentIntegrityError extends Error {
  override readonly name = 'ContentIntegrityError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

export function withLocation(message: string, loc: ErrorLocation): string {
  if (!loc.file) return message;
  let where = loc.file;
  if (loc.entry) where += ` (zip entry ${loc.entry})`;
  if (loc.line !== undefined) where += `, line ${loc.line}${loc.column !== undefined ? `, column ${loc.column}` : ''}`;
  return `${where}: ${message}`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Node's fs error codes put into words a user understands. */
export function describeFsError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `${path}: not found. Check the path.`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied. You need read access to it (for a content library: Read on SCCMContentLib$).`;
    case 'ENOTDIR':
      return `${path}: a part of this path is not a folder.`;
    case 'EISDIR':
      return `${path}: is a folder, a file was expected.`;
    case 'EROFS':
      return `${path}: on a read-only file system or drive; nothing can be written there.`;
    case 'ENOSPC':
      return `${path}: no space left on the disk holding it.`;
    case 'EIO':
      return `${path}: I/O error (the disk or drive reported a failure; it may be failing or was removed).`;
    case 'ENOTCONN':
    case 'ECONNABORTED':
      return `${path}: the file system holding it is gone (transport endpoint is not connected).`;
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE':
      return `${JSON.stringify(path)}: not a usable path (it contains a NUL character).`;
    default:
      return `${path}: ${errorMessage(err)}`;
  }
}


/**
 * A failed write to `path` (a media file or a drive) as a sentence that names it and the cause, from the system error
 * code (and the call that failed: a flush is not a write); null for codes without words here.
 */
export function describeWriteFailure(code: string, path: string, syscall: string | null = null): string | null {
  const during = duringOf(syscall);
  switch (code) {
    case 'ENOSPC':
      return `no space left on the disk holding ${path}: it filled up while ${during} it. Free space or choose another folder or drive.`;
    case 'EDQUOT':
      return `disk quota exceeded while ${during} ${path}. Free space in your quota or choose another folder.`;
    case 'EIO':
      return `I/O error ${during} ${path}: the disk or drive reported a failure (it may be failing, or was removed).`;
    case 'EROFS':
      return `${path} is on a read-only file system or drive: nothing can be written there (is a lock switch on?).`;
    case 'ENOTCONN':
    case 'ECONNABORTED':
    case 'ESHUTDOWN':
    case 'EHOSTDOWN':
    case 'ESTALE':
      return `the file system holding ${path} is gone (${code === 'ESTALE' ? 'stale file handle' : code === 'ECONNABORTED' ? 'connection aborted' : 'transport endpoint is not connected'}) while ${during} it: a network share, FUSE file system or removable disk was disconnected.`;
    case 'ENXIO':
    case 'ENODEV':
      return `${path} disappeared while ${during} it: the drive was removed or disconnected.`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied ${during} ${path}.`;
    default:
      return null;
  }
}

/** What was being done when a write failed, from the call that failed: a flush is not a write. */
function duringOf(syscall: string | null): 'flushing' | 'closing' | 'opening' | 'writing' {
  return syscall === 'fsync' || syscall === 'fdatasync' ? 'flushing' : syscall === 'close' ? 'closing' : syscall === 'open' ? 'opening' : 'writing';
}

/**
 * A failed write's code and values (`WRITE_FAILED`: the path, the system's error code, what was being done) for the
 * wizard to say it in its own language; null when the error has no system code.
 */
export function writeFailureDetail(err: unknown, path: string, syscall?: string): ErrorDetail | null {
  const e = err as NodeJS.ErrnoException | null;
  if (typeof e?.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) return null;
  return { code: 'WRITE_FAILED', params: { path, error: e.code, during: duringOf(syscall ?? e.syscall ?? null) } };
}

/** A failed write, flush or open of `path` (a media file or a drive) in words, from the error the call threw. */
export function describeWriteError(err: unknown, path: string, syscall?: string): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code ? describeWriteFailure(e.code, path, syscall ?? e.syscall ?? null) : null) ?? `cannot write ${path}: ${errorMessage(err)}`;
}
