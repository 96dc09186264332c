// The agent installer's URLs and the one-liner the Add agents page shows.
// The one-liner carries the operator's bearer token (the script it fetches
// embeds it again to download the tarball), so the page shows it masked and
// copies it in full.

export const INSTALLER_INFO = '/api/agents/installer/info';

export function installerQuery(os: string, arch: string): string {
  return `?${new URLSearchParams({ os, arch })}`;
}

/** The tarball download. */
export const installerUrl = (os: string, arch: string) => `/api/agents/installer${installerQuery(os, arch)}`;

/** The shell script that fetches the tarball and runs its install.sh. */
export const installerScriptUrl = (os: string, arch: string) =>
  `/api/agents/installer.sh${installerQuery(os, arch)}`;

/** The token as shown on screen: its first six characters (fewer for a short one) and an ellipsis. */
export function maskToken(token: string): string {
  return `${token.slice(0, Math.min(6, Math.floor(token.length / 2)))}…`;
}

/** A shell word: double quotes when nothing inside would expand, single quotes otherwise. */
function quote(s: string): string {
  return /["$`\\!]/.test(s) ? `'${s.replaceAll("'", `'\\''`)}'` : `"${s}"`;
}

/**
 * `curl … | sudo sh` for the target machine. `token` null (a backend with authentication off) sends no
 * header; `masked` shows the token as maskToken does.
 */
export function oneLiner(opts: {
  origin: string;
  os: string;
  arch: string;
  token: string | null;
  masked: boolean;
}): string {
  const url = `${opts.origin}${installerScriptUrl(opts.os, opts.arch)}`;
  const auth = opts.token
    ? `-H ${quote(`Authorization: Bearer ${opts.masked ? maskToken(opts.token) : opts.token}`)} `
    : '';
  return `curl -fsSL ${auth}${quote(url)} | sudo sh`;
}
