import { readFileSync } from 'node:fs';
import {
  Kind,
  parse,
  print,
  visit,
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type ValueNode,
} from 'graphql';
import { readAccessRequirements, type AccessRequirements } from './authorization/requirements.js';

/**
 * The features composition links `for: SECURITY` (`@authenticated`, `@requiresScopes`, `@policy`).
 * Apollo Gateway refuses any supergraph that links one, because it cannot enforce them; Apollo
 * Router enforces them natively. We keep supergraph.graphql exactly as composition writes it, so
 * it stays Apollo Router-compatible, and take these features out of the gateway's copy only.
 * The router then enforces `@authenticated` and `@requiresScopes` itself, from what was read here
 * before stripping, and the subgraphs enforce all three from their own SDL, so nothing is lost.
 */
export interface SecurityFeature {
  readonly url: string;
  /** The feature's namespace in the supergraph: its `<name>__*` types (the link's `as:`). */
  readonly name: string;
  /**
   * The name its directive is used under: the import's `as:` when a subgraph imported it renamed
   * (`import: [{ name: "@authenticated", as: "@auth" }]` gives `auth`), else the namespace.
   */
  readonly directive: string;
}

export interface LoadedSupergraph {
  /** The SDL to hand to ApolloGateway: the composed supergraph minus the features it refuses. */
  readonly sdl: string;
  readonly securityFeatures: readonly SecurityFeature[];
  /** Each subgraph's routing URL, by name (`users`), as composition wrote it. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  /**
   * The `@authenticated` / `@requiresScopes` requirements read before stripping, for the router
   * to enforce itself (see authorization/AuthorizingGateway.ts).
   */
  readonly accessRequirements: AccessRequirements;
}

export function loadSupergraph(path: string): LoadedSupergraph {
  return prepareSupergraph(readFileSync(path, 'utf8'));
}

/**
 * Takes the features the gateway refuses (`@authenticated`, `@requiresScopes`, `@policy`) out of
 * a composed supergraph, for Apollo Gateway; everything else, `@inaccessible` included, stays.
 */
export function prepareSupergraph(supergraphSdl: string): LoadedSupergraph {
  const document = parse(supergraphSdl);
  const securityFeatures = findSecurityFeatures(document);
  const names = new Set(securityFeatures.flatMap((feature) => [feature.name, feature.directive]));
  const namespaces = securityFeatures.map((feature) => `${feature.name}__`);
  const isSecurityName = (name: string) =>
    names.has(name) || namespaces.some((namespace) => name.startsWith(namespace));

  const strippedUrls = new Set(securityFeatures.map((feature) => feature.url));
  const stripped: DocumentNode = visit(document, {
    DirectiveDefinition: (node) => (isSecurityName(node.name.value) ? null : undefined),
    ScalarTypeDefinition: (node) => (isSecurityName(node.name.value) ? null : undefined),
    EnumTypeDefinition: (node) => (isSecurityName(node.name.value) ? null : undefined),
    Directive: (node) => {
      if (node.name.value === 'link') {
        const url = stringArgument(node.arguments, 'url');
        return url !== undefined && strippedUrls.has(url) ? null : undefined;
      }
      if (isSecurityName(node.name.value)) return null;
      return undefined;
    },
  });
  const subgraphUrls: Record<string, string> = {};
  visit(document, {
    EnumValueDefinition(node) {
      for (const directive of node.directives ?? []) {
        if (directive.name.value !== 'join__graph') continue;
        const name = stringArgument(directive.arguments, 'name');
        const url = stringArgument(directive.arguments, 'url');
        if (name && url) subgraphUrls[name] = url;
      }
    },
  });
  return {
    sdl: print(stripped),
    securityFeatures,
    subgraphUrls,
    accessRequirements: readAccessRequirements(document, securityFeatures),
  };
}

/**
 * The features Apollo Gateway refuses and the router enforces instead, by their spec URL without
 * the version. Composition links `@inaccessible` `for: SECURITY` too, but the gateway supports
 * it (it hides those elements from the API schema), so it must stay: stripping it would expose
 * every hidden field, argument, enum value and type. Any other `for: SECURITY` feature stays as
 * well, and the gateway refuses to start on it rather than let it go unenforced.
 */
const ENFORCED_BY_THE_ROUTER = [
  'https://specs.apollo.dev/authenticated/',
  'https://specs.apollo.dev/requiresScopes/',
  'https://specs.apollo.dev/policy/',
];

/** The `for: SECURITY` features the router enforces, under the names this document gives them. */
export function findSecurityFeatures(document: DocumentNode): SecurityFeature[] {
  const features: SecurityFeature[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION)
      continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link' || !isSecurityLink(directive)) continue;
      const url = stringArgument(directive.arguments, 'url');
      if (url === undefined || !ENFORCED_BY_THE_ROUTER.some((spec) => url.startsWith(spec))) {
        continue;
      }
      // Per the link spec, a feature is named by `as`, or else by the URL's last name segment:
      // https://specs.apollo.dev/requiresScopes/v0.1 is `requiresScopes`.
      const specName = url.split('/').at(-2);
      const name = stringArgument(directive.arguments, 'as') ?? specName;
      if (!name || !specName) continue;
      features.push({ url, name, directive: importedAs(directive, specName) ?? name });
    }
  }
  return features;
}

/** The name `@<specName>` is imported under, from the link's `import:` list, if renamed there. */
function importedAs(link: DirectiveNode, specName: string): string | undefined {
  const imports = link.arguments?.find((argument) => argument.name.value === 'import')?.value;
  if (imports?.kind !== Kind.LIST) return undefined;
  for (const entry of imports.values) {
    if (entry.kind !== Kind.OBJECT) continue;
    const field = (key: string) => {
      const value = entry.fields.find((f) => f.name.value === key)?.value;
      return value?.kind === Kind.STRING ? value.value : undefined;
    };
    if (field('name') === `@${specName}`) return field('as')?.replace(/^@/, '');
  }
  return undefined;
}

function isSecurityLink(directive: DirectiveNode): boolean {
  const purpose = directive.arguments?.find((argument) => argument.name.value === 'for')?.value;
  return purpose?.kind === Kind.ENUM && purpose.value === 'SECURITY';
}

function stringArgument(
  args: readonly ArgumentNode[] | undefined,
  name: string,
): string | undefined {
  const value: ValueNode | undefined = args?.find(
    (argument) => argument.name.value === name,
  )?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}
