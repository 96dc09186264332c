// Membership is stored per PC (agent_groups KV, one CAS update per PC), so
// adding or removing many PCs is one request each. This runs them a few at
// a time (the backend serialises per key anyway), reports progress, and
// collects failures instead of stopping at the first.

export interface BulkResult<T> {
  done: T[];
  failed: { item: T; error: unknown }[];
}

export async function runBulk<T>(
  items: readonly T[],
  work: (item: T) => Promise<unknown>,
  onProgress?: (finished: number, total: number) => void,
  concurrency = 8,
): Promise<BulkResult<T>> {
  const result: BulkResult<T> = { done: [], failed: [] };
  let next = 0;
  let finished = 0;
  async function worker() {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
        result.done.push(item);
      } catch (error) {
        result.failed.push({ item, error });
      }
      onProgress?.(++finished, items.length);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return result;
}
