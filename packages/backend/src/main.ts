// kanade-backend: load the config, start everything, stop cleanly on
// SIGINT/SIGTERM (buffered telemetry is flushed, the child broker and the
// local agent are stopped, exit 0). A second signal forces exit.
// `kanade-backend wipe-projector` deletes the database but the accounts and
// exits (wipe.ts); the next start rebuilds the projections from the streams.
// `kanade-backend migrate-store` copies a SQLite installation into PostgreSQL
// (migrate-store.ts). `kanade-backend backup <file>` copies the SQLite
// database while the backend runs (backup.ts).
import { runBackup } from './backup.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { runMigrateStore } from './migrate-store.js';
import { startBackend } from './server.js';
import { redactUrl } from './store/db.js';
import { wipeProjector } from './wipe.js';

export async function runMain(argv: string[]): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kanade-backend: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (argv[0] === 'migrate-store') {
    process.exitCode = runMigrateStore(argv.slice(1), config);
    return;
  }
  if (argv[0] === 'backup') {
    process.exitCode = await runBackup(argv.slice(1), config);
    return;
  }
  if (argv[0] === 'wipe-projector') {
    const kept = wipeProjector({ sqlitePath: config.sqlitePath, postgresUrl: config.postgresUrl });
    process.stdout.write(
      `wiped ${config.postgresUrl ? redactUrl(config.postgresUrl) : config.sqlitePath}; kept ${kept.users} account(s) and ${kept.permissionGroups} permission group(s). ` +
        'The next start rebuilds the projections from the streams.\n',
    );
    return;
  }
  const log = createLogger(config.logLevel);
  let stopping = false;
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  const onSignal = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    await backend?.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));

  try {
    backend = await startBackend(config, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'backend failed to start');
    process.exit(1);
  }
  if (stopping) await backend.stop();
  else if (backend.tokenFile) {
    process.stderr.write(
      `\nkanade is running at http://${config.bind.host}:${config.bind.port}\n` +
        `API token: ${backend.tokenFile} (send it as "Authorization: Bearer <token>")\n\n`,
    );
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) await runMain(process.argv.slice(2));
