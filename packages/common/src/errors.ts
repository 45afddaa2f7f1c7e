/** Exit codes shared by every edge-audio command line. */
export const EXIT_OK = 0;
/** Something failed while running (a kernel, a write, an unexpected state). */
export const EXIT_FAILURE = 1;
/** The command line or an input file is wrong: the user can fix it. */
export const EXIT_USAGE = 2;

/** A bad command line: an unknown or malformed flag, a value out of bounds, a missing argument. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The (sub)command whose --help explains the fix, e.g. "edge-audio train"; set by parseCommand. */
  command?: string;
}

/**
 * A bad input file or folder (missing, unreadable, malformed). Exits with 2 like a usage error, but
 * without the "see --help" hint, since the command line itself was fine.
 */
export class InputError extends Error {
  override readonly name = "InputError";
}

const FILE_ERROR_TEXT: Record<string, string> = {
  ENOENT: "no such file or folder",
  EISDIR: "is a folder, a file is expected",
  ENOTDIR: "a part of the path is not a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links (a loop?)",
  ENAMETOOLONG: "name too long",
};

/** The one-line text of a Node file-system error (ENOENT, EISDIR, ...), or null for other errors. */
export function fileErrorMessage(e: unknown): string | null {
  const err = e as { code?: unknown; path?: unknown };
  if (typeof err?.code !== "string" || !(err.code in FILE_ERROR_TEXT)) return null;
  const path = typeof err.path === "string" ? `${err.path}: ` : "";
  return `${path}${FILE_ERROR_TEXT[err.code]}`;
}
