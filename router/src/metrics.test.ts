import { describe, expect, it } from 'vitest';
import { classifyOutcome, operationLabels, type TrustedOperationNames } from './metrics.js';

const trusted: TrustedOperationNames = {
  names: new Set(['MyOrders', 'Login']),
  byHash: (hash) => (hash === 'abc' ? { name: 'MyOrders', type: 'query' } : undefined),
};

describe('classifyOutcome', () => {
  it('is success without errors', () => {
    expect(classifyOutcome({ data: { me: { id: '1' } } })).toBe('success');
    expect(classifyOutcome({ data: { me: null }, errors: [] })).toBe('success');
  });

  it('is partial with data beside errors', () => {
    expect(
      classifyOutcome({
        data: { me: { id: '1', orders: null } },
        errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }],
      }),
    ).toBe('partial');
  });

  it("is the first error's code without data", () => {
    expect(
      classifyOutcome({
        data: null,
        errors: [
          { extensions: { code: 'LOGIN_THROTTLED' } },
          { extensions: { code: 'SERVICE_UNAVAILABLE' } },
        ],
      }),
    ).toBe('LOGIN_THROTTLED');
    expect(
      classifyOutcome({ errors: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }),
    ).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('is UNAUTHORIZED_FIELD_OR_TYPE when every error is the authorization taking fields out', () => {
    const unauthorized = { extensions: { code: 'UNAUTHORIZED_FIELD_OR_TYPE' } };
    expect(classifyOutcome({ data: { me: null }, errors: [unauthorized, unauthorized] })).toBe(
      'UNAUTHORIZED_FIELD_OR_TYPE',
    );
    // With any other error beside them, it is the data that decides.
    expect(
      classifyOutcome({
        data: { me: null },
        errors: [unauthorized, { extensions: { code: 'FORBIDDEN' } }],
      }),
    ).toBe('partial');
  });

  it('never makes a label of a code that does not look like one', () => {
    expect(classifyOutcome({ data: null, errors: [{ extensions: { code: 'a b {"x"}' } }] })).toBe(
      'error',
    );
    expect(classifyOutcome({ data: null, errors: [{}] })).toBe('error');
  });
});

describe('operationLabels', () => {
  it("names an operation of the manifest, by name or by the hash of the manifest's document", () => {
    expect(operationLabels({ query: 'query MyOrders { me { id } }' }, trusted)).toEqual({
      operation_name: 'MyOrders',
      operation_type: 'query',
    });
    expect(operationLabels({ hash: 'abc' }, trusted)).toEqual({
      operation_name: 'MyOrders',
      operation_type: 'query',
    });
    expect(
      operationLabels({ query: 'mutation Login { login }', operationName: 'Login' }, trusted),
    ).toEqual({ operation_name: 'Login', operation_type: 'mutation' });
  });

  it('calls every other name unknown, and no name anonymous', () => {
    expect(operationLabels({ query: 'query Whatever { me { id } }' }, trusted)).toEqual({
      operation_name: 'unknown',
      operation_type: 'query',
    });
    expect(
      operationLabels({ query: '{ me { id } }', operationName: 'Random123' }, trusted),
    ).toEqual({ operation_name: 'unknown', operation_type: 'query' });
    expect(operationLabels({ query: '{ me { id } }' }, trusted)).toEqual({
      operation_name: 'anonymous',
      operation_type: 'query',
    });
    expect(
      operationLabels({ query: 'fragment F on User { id } query { me { ...F } }' }, trusted),
    ).toEqual({ operation_name: 'anonymous', operation_type: 'unknown' });
    expect(operationLabels(undefined, trusted)).toEqual({
      operation_name: 'unknown',
      operation_type: 'unknown',
    });
    expect(operationLabels({ hash: 'not-in-the-manifest' }, trusted)).toEqual({
      operation_name: 'unknown',
      operation_type: 'unknown',
    });
  });
});
