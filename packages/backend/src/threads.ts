// Worker threads that run one of the backend's own modules (the ingest worker, its database writer).
// Built, the module is a bundle in dist/ next to its caller's bundle; under tsx (tests, `tsx src/...`)
// it is the TS source, and tsx's loader has to be registered inside the new thread: `execArgv:
// ['--import', 'tsx']` does not reach a worker's module loader on Node 20.
import { Worker } from 'node:worker_threads';

/**
 * `callerUrl` is the caller's import.meta.url; `ts` and `built` are the module's paths relative to the
 * caller's source file and to the caller's bundle.
 */
export function startModuleThread(
  callerUrl: string,
  paths: { ts: string; built: string },
  workerData: unknown,
) {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(paths.built, callerUrl), { workerData });
  const source = new URL(paths.ts, callerUrl).href;
  return new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
    { eval: true, workerData },
  );
}
