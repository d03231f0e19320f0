/**
 * `task` of every item, at most `limit` of them running at a time; the results in the items'
 * order. After a failure no new task starts (those running finish) and the first error is
 * thrown: a database that fails one query is not sent the rest.
 */
export async function mapAtMost<T, R>(
  limit: number,
  items: readonly T[],
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  // One iterator for every worker: each item is taken once, in order.
  const pending = items.entries();
  let failed = false;
  async function work(): Promise<void> {
    for (const [index, item] of pending) {
      if (failed) return;
      try {
        results[index] = await task(item, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, work));
  return results;
}
