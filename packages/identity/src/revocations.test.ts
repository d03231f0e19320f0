import { describe, expect, it } from 'vitest';
import { indexRevocations, parseRevocationList } from './revocations.js';

describe('indexRevocations', () => {
  const index = indexRevocations({
    windowSeconds: 960,
    sessions: [
      { sid: 'ended' },
      { sid: 'demoted', upTo: 2 },
      { sid: 'twice', upTo: 1 },
      { sid: 'twice', upTo: 3 },
    ],
  });

  it('revokes every token of an ended session', () => {
    expect(index.isRevoked({ sid: 'ended', gen: 0 })).toBe(true);
    expect(index.isRevoked({ sid: 'ended', gen: 99 })).toBe(true);
  });

  it('revokes the generations up to a bound, and not the refreshes after it', () => {
    expect([0, 1, 2, 3].map((gen) => index.isRevoked({ sid: 'demoted', gen }))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // Of two bounds for one session, the wider holds.
    expect(index.isRevoked({ sid: 'twice', gen: 3 })).toBe(true);
    expect(index.isRevoked({ sid: 'twice', gen: 4 })).toBe(false);
  });

  it('leaves other sessions, and tokens without one, alone; a token with no generation counts as old', () => {
    expect(index.isRevoked({ sid: 'other', gen: 0 })).toBe(false);
    expect(index.isRevoked({})).toBe(false);
    expect(index.isRevoked({ sid: 'demoted' })).toBe(true);
  });
});

describe('parseRevocationList', () => {
  it('reads what GET /revocations answers', () => {
    const list = { windowSeconds: 960, sessions: [{ sid: 'a' }, { sid: 'b', upTo: 2 }] };
    expect(parseRevocationList(JSON.parse(JSON.stringify(list)))).toEqual(list);
  });

  it.each([
    null,
    'sessions',
    { sessions: [] },
    { windowSeconds: 960, sessions: {} },
    { windowSeconds: 960, sessions: [{ sid: 1 }] },
    { windowSeconds: 960, sessions: [{ sid: 'a', upTo: 1.5 }] },
    { windowSeconds: 960, sessions: [{ sid: 'a', upTo: '2' }] },
  ])('refuses %j', (value) => {
    expect(parseRevocationList(value)).toBeNull();
  });
});
