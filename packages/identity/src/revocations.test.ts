import { describe, expect, it } from 'vitest';
import { createRevocationCopy, indexRevocations, parseRevocationList } from './revocations.js';

describe('indexRevocations', () => {
  const index = indexRevocations({
    sessions: [
      { sid: 'ended', at: 1 },
      { sid: 'demoted', upTo: 2, at: 1 },
      { sid: 'twice', upTo: 1, at: 1 },
      { sid: 'twice', upTo: 3, at: 2 },
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
    const list = {
      windowSeconds: 960,
      sessions: [
        { sid: 'a', at: 1 },
        { sid: 'b', upTo: 2, at: 2 },
      ],
      cursor: '2:b:2',
      more: false,
    };
    expect(parseRevocationList(JSON.parse(JSON.stringify(list)))).toEqual(list);
  });

  it.each([
    null,
    'sessions',
    { sessions: [] },
    { windowSeconds: 960, sessions: {} },
    { windowSeconds: 960, sessions: [{ sid: 1, at: 1 }], cursor: '', more: false },
    { windowSeconds: 960, sessions: [{ sid: 'a', upTo: 1.5, at: 1 }], cursor: '', more: false },
    { windowSeconds: 960, sessions: [{ sid: 'a', upTo: '2', at: 1 }], cursor: '', more: false },
    { windowSeconds: 960, sessions: [{ sid: 'a' }], cursor: '', more: false },
    { windowSeconds: 960, sessions: [], more: false },
    { windowSeconds: 960, sessions: [], cursor: '' },
  ])('refuses %j', (value) => {
    expect(parseRevocationList(value)).toBeNull();
  });
});

describe('createRevocationCopy', () => {
  it('adds pages up, and forgets what is older than the window', () => {
    const copy = createRevocationCopy();
    copy.merge([{ sid: 'old', at: 1_000 }]);
    copy.merge([
      { sid: 'new', upTo: 1, at: 5_000 },
      { sid: 'new', upTo: 0, at: 6_000 },
    ]);
    expect(copy.isRevoked({ sid: 'old', gen: 0 })).toBe(true);
    expect(copy.isRevoked({ sid: 'new', gen: 1 })).toBe(true);
    copy.prune(2_000);
    expect(copy.isRevoked({ sid: 'old', gen: 0 })).toBe(false);
    expect(copy.isRevoked({ sid: 'new', gen: 1 })).toBe(true);
    expect(copy.size).toBe(1);
  });
});
