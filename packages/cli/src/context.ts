// What every command gets: the API client, the output and progress writers,
// the environment, and the few terminal interactions (stdin, prompts).
import type { Api } from './http.js';
import type { Output } from './output.js';
import type { Progress } from './progress.js';

export interface Ctx {
  api: Api;
  out: Output;
  progress: Progress;
  env: NodeJS.ProcessEnv;
  /** Everything on stdin (for --password-stdin and `-` script arguments). */
  readStdin(): Promise<string>;
  /** Ask on the terminal; undefined when there is no terminal to ask on. */
  prompt(question: string, hidden: boolean): Promise<string | undefined>;
}

export interface Command {
  summary: string;
  usage: string;
  run(ctx: Ctx, argv: string[]): Promise<number | undefined>;
}

export type Sub = (ctx: Ctx, argv: string[]) => Promise<number | undefined>;
