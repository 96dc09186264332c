// `kanade-sim`: runs the simulator until --duration or a signal, reports
// progress on stderr and prints the JSON summary as the last stdout line
// (benchmarks read that line). A signal during the first connect still
// prints a (zero) summary; a second signal exits at once without one.

import { parseSimArgs, type SimCli, USAGE } from './cli.js';
import { createSimulator } from './simulator.js';

const log = (line: string) => process.stderr.write(`[sim] ${line}\n`);

let cli: SimCli;
try {
  cli = parseSimArgs(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (cli.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const sim = createSimulator({ ...cli, log });
let finishing = false;

async function finish(reason: string): Promise<void> {
  if (finishing) {
    if (reason.startsWith('SIG')) process.exit(130);
    return;
  }
  finishing = true;
  log(`stopping (${reason})`);
  const summary = await sim.stop();
  // Exit from the write callback: a pending first connect would keep the process alive.
  process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
}

process.on('SIGINT', () => void finish('SIGINT'));
process.on('SIGTERM', () => void finish('SIGTERM'));

const progress = setInterval(() => {
  const s = sim.stats();
  log(
    `t=${s.duration_s}s heartbeats=${s.heartbeats_sent} host_perf=${s.host_perf_sent} ` +
      `process_perf=${s.process_perf_sent} rate=${s.msgs_per_sec}/s errors=${s.publish_errors} ` +
      `dropped=${s.dropped_disconnected}` +
      (cli.commands ? ` commands=${s.commands_received} results=${s.results_sent}` : ''),
  );
}, cli.progressMs);
progress.unref();

log(`connecting to ${cli.natsUrl}`);
try {
  await sim.start();
} catch (err) {
  log(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}
if (cli.durationMs !== undefined) setTimeout(() => void finish('duration reached'), cli.durationMs);
