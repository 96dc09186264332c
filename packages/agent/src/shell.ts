// How each Command shell is started on each OS, kept pure so the rules are
// unit-tested everywhere. On Linux and macOS `sh` runs the script with
// `sh -c` and `pwsh` runs it from a file; on Windows `powershell` / `pwsh`
// run it from a `.ps1` file (with a UTF-8 byte-order mark, which is how
// PowerShell recognises UTF-8 without a code-page change) under
// `-ExecutionPolicy Bypass`, and `cmd` gets `/d /s /c` with the script passed
// verbatim (cmd does its own parsing). A shell the OS does not have
// (`powershell` / `cmd` off Windows, `sh` on Windows) is refused, and the
// caller reports exit 122 (unsupported on this OS) instead of running it.

import type { Shell } from '@kanade/wire';

export interface Invocation {
  program: string;
  args: string[];
  /** Write this to `scriptPath` before starting, and remove it afterwards. */
  scriptFile?: Buffer;
  /** Windows: pass args to the program unquoted (cmd.exe parses its own command line). */
  verbatim?: boolean;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The file extension a script file needs for `shell`, if it runs from a file. */
export function scriptExtension(shell: Shell): string | undefined {
  return shell === 'powershell' || shell === 'pwsh' ? '.ps1' : undefined;
}

/** How to run `script` with `shell` on `platform`, or a reason it cannot run there. */
export function invocationFor(
  shell: Shell,
  script: string,
  platform: NodeJS.Platform,
  scriptPath: string,
): Invocation | { unsupported: string } {
  const windows = platform === 'win32';
  const psFile = (program: string, windowsOnly: string[]): Invocation => ({
    program,
    args: ['-NoProfile', '-NonInteractive', ...windowsOnly, '-File', scriptPath],
    scriptFile: Buffer.concat([UTF8_BOM, Buffer.from(script, 'utf8')]),
  });
  switch (shell) {
    case 'sh':
      if (windows) return { unsupported: 'shell "sh" is not available on Windows' };
      return { program: 'sh', args: ['-c', script] };
    case 'pwsh':
      return psFile('pwsh', windows ? ['-ExecutionPolicy', 'Bypass'] : []);
    case 'powershell':
      if (!windows)
        return { unsupported: `shell "powershell" is only available on Windows, not ${platform}` };
      return psFile('powershell.exe', ['-ExecutionPolicy', 'Bypass']);
    case 'cmd':
      if (!windows) return { unsupported: `shell "cmd" is only available on Windows, not ${platform}` };
      return { program: 'cmd.exe', args: ['/d', '/s', '/c', `"${script}"`], verbatim: true };
  }
}
