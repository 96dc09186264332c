// `npm start`: install what is missing, build what is stale, then run the
// backend in this process (embedded nats-server, SQLite, local agent).
import { setup } from './setup.mjs';

try {
  await setup();
} catch (err) {
  process.stderr.write(`[start] ${err.message}\n`);
  process.exit(1);
}
const { runMain } = await import('../packages/backend/dist/main.js');
await runMain(process.argv.slice(2));
