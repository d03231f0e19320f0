import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from './logger.js';
import { isRequestId, requestIdOf, withRequestContext } from './requestContext.js';

/** A logger whose lines are kept, parsed, as a log shipper would read them. */
function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const logger = createLogger('test', level, {
    destination: { write: (line) => lines.push(line) },
  });
  const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, parsed };
}

const PEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIO5pB6y9E0oYbH0mWc1eZkz8mXzW1e7o2lK4k1m7Jx9y
-----END PRIVATE KEY-----`;
const JWT =
  'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiI2NjAwIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln';

describe('createLogger', () => {
  it('writes one JSON object a line, with time, level, service and message', () => {
    const { logger, lines, parsed } = capture();
    logger.info('hello', { count: 2 });
    logger.error('broken');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^\{[^\n]*\}\n$/);
    expect(parsed()[0]).toMatchObject({
      level: 'info',
      service: 'test',
      message: 'hello',
      count: 2,
    });
    expect(parsed()[1]).toMatchObject({ level: 'error', message: 'broken' });
    expect(Date.parse(String(parsed()[0]?.['time']))).toBeGreaterThan(0);
  });

  it('writes the levels LOG_LEVEL asks for and no lower', () => {
    const { logger, parsed } = capture('warn');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(parsed().map((line) => line['level'])).toEqual(['warn', 'error']);
    const silent = capture('silent');
    silent.logger.error('e');
    expect(silent.lines).toEqual([]);
  });

  it('takes what Apollo hands it: an Error, or a message with printf-like text', () => {
    const { logger, parsed } = capture();
    const apolloLogger: { warn(message?: unknown): void } = logger;
    apolloLogger.warn(new TypeError('boom'));
    logger.info('100%s sure %d');
    expect(parsed().map((line) => line['message'])).toEqual(['TypeError: boom', '100%s sure %d']);
  });

  it('never writes credentials or secrets, at any level or depth', () => {
    const { logger, lines } = capture();
    const secrets = {
      authorization: `Bearer ${JWT}`,
      cookie: 'session=s3cr3t-cookie',
      password: 'hunter2-password',
      currentPassword: 'old-password-1',
      accessToken: JWT,
      refreshToken: 'refresh-token-value-1',
      token: 'plain-token-value-2',
      deviceToken: 'device-token-value-3',
      IDENTITY_SIGNING_SECRET: 'a'.repeat(64),
      secret: 'b'.repeat(64),
      JWT_PRIVATE_KEY: PEM,
      'x-identity-signature': `v3=${'c'.repeat(64)}`,
    };
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      logger[level]('top level', secrets);
      logger[level]('nested', {
        headers: { Authorization: 'Basic dXNlcjpwYXNz' },
        deep: { a: { b: { variables: secrets } } },
        list: [secrets],
      });
      logger[level](`in messages: ${PEM} Bearer ${JWT} v3=${'d'.repeat(64)}`, {
        error: `request failed with authorization: Bearer opaque-token-xyz and key ${PEM.slice(0, 60)}`,
      });
    }
    const output = lines.join('');
    for (const value of [
      ...Object.values(secrets),
      'dXNlcjpwYXNz',
      'opaque-token-xyz',
      'd'.repeat(64),
    ]) {
      expect(output).not.toContain(value);
    }
    expect(output).not.toContain('-----BEGIN');
    expect(output).not.toContain('eyJ');
    expect(lines).toHaveLength(12);
  });

  it('keeps fields that only look alike, and objects that are not plain', () => {
    const { logger, parsed } = capture();
    const shared = { id: 'x' };
    logger.info('fine', {
      tokenReason: 'expired',
      reason: 'revoked',
      a: shared,
      b: shared,
      when: new Date(0),
    });
    expect(parsed()[0]).toMatchObject({
      tokenReason: 'expired',
      reason: 'revoked',
      a: { id: 'x' },
      b: { id: 'x' },
      when: '1970-01-01T00:00:00.000Z',
    });
  });

  it('puts the id of the request being handled on every line written for it', async () => {
    const { logger, parsed } = capture();
    logger.info('outside');
    await withRequestContext('req-1', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('inside, later');
    });
    expect(parsed()[0]).not.toHaveProperty('requestId');
    expect(parsed()[1]).toMatchObject({ requestId: 'req-1', message: 'inside, later' });
  });
});

describe('request ids', () => {
  it('takes a given id only when trusted, sent once and well formed', () => {
    expect(requestIdOf('abc-123_x.y', true)).toBe('abc-123_x.y');
    expect(requestIdOf(['abc'], true)).toBe('abc');
    for (const refused of ['', 'a b', 'a\nb', 'x'.repeat(65), '"quoted"', 'a,b']) {
      expect(isRequestId(refused)).toBe(false);
      expect(requestIdOf(refused, true)).not.toBe(refused);
    }
    expect(requestIdOf(['abc', 'def'], true)).not.toMatch(/^(abc|def)$/);
    expect(requestIdOf('abc', false)).not.toBe('abc');
    expect(isRequestId(requestIdOf(undefined, false))).toBe(true);
    expect(requestIdOf(undefined, false)).not.toBe(requestIdOf(undefined, false));
  });
});
