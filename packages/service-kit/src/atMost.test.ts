import { describe, expect, it } from 'vitest';
import { mapAtMost } from './atMost.js';

/** A task that takes `ms` and records how many tasks were running at once. */
function tracked() {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = async (ms: number, index: number) => {
    started.push(index);
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running -= 1;
    return ms * 10;
  };
  return { task, started, most: () => most };
}

describe('mapAtMost', () => {
  it('runs at most `limit` tasks at once and gives the results in the items’ order', async () => {
    const { task, started, most } = tracked();
    const results = await mapAtMost(3, [30, 5, 20, 1, 10, 2, 8], task);
    expect(results).toEqual([300, 50, 200, 10, 100, 20, 80]);
    expect(most()).toBe(3);
    expect(started.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('starts no new task after one fails, and throws that failure', async () => {
    const started: number[] = [];
    const run = mapAtMost(2, [1, 2, 3, 4, 5, 6], async (n) => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, n === 2 ? 1 : 20));
      if (n === 2) throw new Error('no 2');
      return n;
    });
    await expect(run).rejects.toThrow('no 2');
    // 1 and 2 start; 2 fails before 1 ends, so 1 finishes and nothing else begins.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toEqual([1, 2]);
  });

  it('does nothing for no items', async () => {
    expect(await mapAtMost(4, [], async () => 1)).toEqual([]);
  });
});
