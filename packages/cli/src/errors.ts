// Exit codes scripts can rely on, and the error type every command throws.
// Each error carries what went wrong and, where there is one, what to do
// next; main.ts prints both to stderr and exits with the code. The table is
// repeated in docs/cli.md.

export const EXIT = {
  OK: 0,
  /** Anything unexpected, including a backend 5xx. */
  ERROR: 1,
  /** The command line is wrong (unknown command or option, missing argument, unreadable input file). */
  USAGE: 2,
  /** The thing named does not exist (HTTP 404). */
  NOT_FOUND: 3,
  /** No credentials, bad credentials, or not allowed (HTTP 401 / 403). */
  AUTH: 4,
  /** A wait ran out (--wait / --timeout, HTTP 408 / 504). */
  TIMEOUT: 5,
  /** The backend refused the request as sent (HTTP 400, 409, 412, 413, 415, 416, 422). */
  REFUSED: 6,
  /** The backend could not be reached at all. */
  UNREACHABLE: 7,
  /** The remote work ran but failed: `run` exited non-zero, `exec --wait` had failures. */
  FAILED: 8,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** What to do next, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A command's usage text shortened for a hint: its first line and where to find the rest. */
function usageHint(usageText: string): string {
  const first = usageText.split('\n', 1)[0]!.replace(/^usage:\s*/, '');
  return `${first}   (${first.split(' ').slice(0, 2).join(' ')} --help for more)`;
}

/** A usage error; a multi-line hint (a usage text) is shortened to its synopsis. */
export const usage = (message: string, hint?: string) =>
  new CliError(EXIT.USAGE, message, hint?.includes('\n') ? usageHint(hint) : hint);

/** The exit code of an HTTP error status. */
export function exitForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 408 || status === 504) return EXIT.TIMEOUT;
  if ([400, 409, 412, 413, 415, 416, 422].includes(status)) return EXIT.REFUSED;
  return EXIT.ERROR;
}

/** What to do next after an HTTP error, by status and the API's error code. */
export function hintFor(status: number, code: string | undefined, backendUrl: string): string | undefined {
  switch (code) {
    case 'KANADE_ERR_UNAUTHORIZED':
      return 'sign in with `kanade login`, or set KANADE_AUTH_TOKEN to a valid token';
    case 'KANADE_ERR_MFA_REQUIRED':
      return 'this account uses MFA: repeat with --code <6 digits from your authenticator>';
    case 'KANADE_ERR_FORBIDDEN':
      return 'your account lacks the role or page for this; ask an admin (`kanade account set`)';
    case 'KANADE_ERR_DIGEST_MISMATCH':
      return 'the file changed while it was read or was damaged on the way: upload it again';
    case 'KANADE_ERR_PAYLOAD_TOO_LARGE':
      return 'use a smaller file (app packages take up to 8 GiB, script objects 4 MiB, releases 64 MiB)';
    case 'KANADE_ERR_RATE_LIMITED':
      return 'wait a little and try again';
  }
  if (status >= 500) return `see the backend log (${backendUrl}) for the detail`;
  return undefined;
}
