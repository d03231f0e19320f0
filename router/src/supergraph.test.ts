import { readFileSync } from 'node:fs';
import { Supergraph } from '@apollo/federation-internals';
import { describe, expect, it } from 'vitest';
import { prepareSupergraph } from './supergraph.js';

const committed = readFileSync(new URL('../../supergraph.graphql', import.meta.url), 'utf8');

describe('prepareSupergraph', () => {
  it('is needed: the committed supergraph, as composition writes it, is refused by the gateway’s checks', () => {
    expect(() => Supergraph.build(committed)).toThrow(/for: SECURITY but is unsupported/);
  });

  it('takes out the for: SECURITY features so that the gateway accepts the supergraph', () => {
    const { sdl, securityFeatures } = prepareSupergraph(committed);
    expect(securityFeatures.map((feature) => feature.name).sort()).toEqual([
      'authenticated',
      'policy',
      'requiresScopes',
    ]);
    expect(sdl).not.toMatch(
      /for: SECURITY|@authenticated|@requiresScopes|@policy|policy__|requiresScopes__/,
    );
    const supergraph = Supergraph.build(sdl);
    expect([...supergraph.subgraphs().names()].sort()).toEqual(['orders', 'users']);
  });

  it('reads each subgraph’s routing URL', () => {
    expect(prepareSupergraph(committed).subgraphUrls).toEqual({
      users: 'http://localhost:4001/graphql',
      orders: 'http://localhost:4002/graphql',
    });
  });

  it('keeps the API schema whole: every type and field, with only the directives removed', () => {
    const before = Supergraph.build(committed, { supportedFeatures: null }).apiSchema().toString();
    const after = Supergraph.build(prepareSupergraph(committed).sdl).apiSchema().toString();
    expect(after).toBe(
      before.replace(/ @(authenticated|requiresScopes|policy)(\([^)]*\]\]\))?/g, ''),
    );
  });

  it('honours a renamed feature (`as:`)', () => {
    const renamed = committed
      .replace(
        'url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY',
        'url: "https://specs.apollo.dev/authenticated/v0.1", as: "loggedIn", for: SECURITY',
      )
      .replaceAll('@authenticated', '@loggedIn');
    const { sdl, securityFeatures } = prepareSupergraph(renamed);
    expect(securityFeatures.map((feature) => feature.name)).toContain('loggedIn');
    expect(sdl).not.toContain('@loggedIn');
    expect(() => Supergraph.build(sdl)).not.toThrow();
  });
});
