#!/usr/bin/env node
// `kanade`: the operator CLI (docs/cli.md). Runs cli.ts with the process's
// arguments, environment and streams, and exits with its code.
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stdin: process.stdin,
  stderrIsTTY: process.stderr.isTTY === true,
});
// Let stdout drain before exiting (large --json output into a pipe).
process.stdout.write('', () => process.exit(code));
