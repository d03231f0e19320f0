import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from './passwords.js';

describe('password checks', () => {
  it('run a bounded number at once, queue a few, and refuse the rest at once, retryably', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 2, maxQueued: 1 });
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let running = 0;
    let most = 0;
    const work = () =>
      hasher.bounded(async () => {
        running += 1;
        most = Math.max(most, running);
        await gate;
        running -= 1;
        return 'done';
      });
    const admitted = [work(), work(), work()];
    const refused = await work().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GraphQLError);
    expect(refused).toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 },
    });
    release();
    expect(await Promise.all(admitted)).toEqual(['done', 'done', 'done']);
    expect(most).toBe(2);
    // The slots are all free again.
    expect(await work()).toBe('done');
  });

  it('give up on a wait that would outlast the caller’s patience', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1, maxQueued: 5 });
    const stuck = hasher.bounded(() => new Promise<void>((resolve) => setTimeout(resolve, 1_500)));
    const started = Date.now();
    const waited = await hasher.bounded(async () => 'ran').catch((error: unknown) => error);
    expect(waited).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(1_400);
    await stuck;
    expect(await hasher.bounded(async () => 'ran')).toBe('ran');
  });
});
