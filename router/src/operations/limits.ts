import {
  getNamedType,
  getNullableType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isLeafType,
  Kind,
  Lexer,
  parse,
  SchemaMetaFieldDef,
  Source,
  TokenKind,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode, HttpError } from '@supergraph/service-kit';
import type { RequestOperation } from './requestOperations.js';

/**
 * What one operation may ask of the graph. The defaults are graphql-armor's (depth 6, aliases
 * 15, directives 50, tokens 1000, cost 5000), which OWASP's GraphQL cheat sheet points to; each
 * is a router setting (see config.ts).
 */
export interface OperationLimits {
  /** Fields nested in fields: `{ me { id } }` is 2. Stops deep and circular queries. */
  readonly maxDepth: number;
  /** Aliased fields, `__typename` included: aliases multiply work for the price of one field. */
  readonly maxAliases: number;
  readonly maxDirectives: number;
  /** Lexical tokens, counted before anything is parsed. */
  readonly maxTokens: number;
  /**
   * How often one response key may be selected in one selection set. `{ __typename __typename … }`
   * is legal GraphQL that only costs the server (graphql-cop's "field duplication").
   */
  readonly maxFieldRepeats: number;
  /** The estimated cost (see `estimate` below). */
  readonly maxCost: number;
  /**
   * Root fields (`Mutation.login`) an operation may select once at most, aliases and fragments
   * included: each costs a password hash, so sixteen in one request would cost sixteen.
   */
  readonly oncePerRequest: readonly string[];
}

/** Arguments that say how many items a list field returns, for the cost estimate. */
const SIZE_ARGUMENTS = ['first', 'last', 'limit'];

/**
 * Checks every operation in a request against the limits before Apollo Server parses or
 * validates it, so a hostile document costs the router little more than reading it. Throws an
 * HttpError 400 whose code names the limit; `extensions` carry the limit and what was found.
 * A document that does not parse is left for Apollo Server to refuse with its usual error.
 * `schema` is the API schema, for the cost estimate; without it cost is not checked.
 */
export function checkOperationLimits(
  limits: OperationLimits,
  operations: readonly RequestOperation[],
  schema: GraphQLSchema | undefined,
): void {
  for (const operation of operations) {
    if (operation.query === undefined) continue;
    const document = parsedWithinTokens(limits, operation.query);
    if (!document) continue;
    // The operation the request names. When it names none that Apollo Server could pick (a
    // document of several operations, a name that is not there), every operation is measured:
    // the request is refused either way, and no guess lets a large one through.
    const selected = getOperationAST(document, operation.operationName);
    const candidates = selected
      ? [selected]
      : document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    for (const candidate of candidates) {
      checkStats(limits, measure(document, candidate, operation.variables ?? {}, schema), schema);
      checkOncePerRequest(limits, document, candidate, schema);
    }
  }
}

/**
 * The document, or null when it does not parse (Apollo Server says why); refused when it has
 * more tokens than the limit. Documents that passed are kept by their text, a bounded number
 * per set of limits: clients send the same few operations again and again, and the count and
 * parse would otherwise run on every request.
 */
function parsedWithinTokens(limits: OperationLimits, query: string): DocumentNode | null {
  let passed = parsedDocuments.get(limits);
  if (!passed) {
    passed = new Map();
    parsedDocuments.set(limits, passed);
  }
  const known = passed.get(query);
  if (known !== undefined) return known;
  const tokens = countTokens(query, limits.maxTokens);
  if (tokens > limits.maxTokens) {
    throw refuse(
      ErrorCode.MAX_TOKENS_LIMIT,
      `The operation has more than ${limits.maxTokens} tokens, the most this router accepts. Send a shorter operation.`,
      limits.maxTokens,
    );
  }
  let document: DocumentNode | null;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    document = null;
  }
  // The oldest out first: a client sending ever new documents costs a parse each, as before.
  if (passed.size >= MAX_PARSED_DOCUMENTS) passed.delete(passed.keys().next().value!);
  passed.set(query, document);
  return document;
}

const parsedDocuments = new WeakMap<OperationLimits, Map<string, DocumentNode | null>>();
const MAX_PARSED_DOCUMENTS = 1_000;

function checkStats(limits: OperationLimits, stats: Stats, schema: GraphQLSchema | undefined) {
  if (stats.depth > limits.maxDepth) {
    throw refuse(
      ErrorCode.MAX_DEPTH_LIMIT,
      `The operation nests fields ${stats.depth} deep; this router allows ${limits.maxDepth}. Split it into smaller operations.`,
      limits.maxDepth,
      stats.depth,
    );
  }
  if (stats.aliases > limits.maxAliases) {
    throw refuse(
      ErrorCode.MAX_ALIASES_LIMIT,
      `The operation uses ${stats.aliases} aliases; this router allows ${limits.maxAliases}. Send several operations instead.`,
      limits.maxAliases,
      stats.aliases,
    );
  }
  if (stats.directives > limits.maxDirectives) {
    throw refuse(
      ErrorCode.MAX_DIRECTIVES_LIMIT,
      `The operation uses ${stats.directives} directives; this router allows ${limits.maxDirectives}.`,
      limits.maxDirectives,
      stats.directives,
    );
  }
  if (stats.fieldRepeats > limits.maxFieldRepeats) {
    throw refuse(
      ErrorCode.MAX_FIELD_REPEATS_LIMIT,
      `The operation selects one field ${stats.fieldRepeats} times in the same place; this router allows ${limits.maxFieldRepeats}. Select each field once.`,
      limits.maxFieldRepeats,
      stats.fieldRepeats,
    );
  }
  if (schema && stats.cost > limits.maxCost) {
    throw refuse(
      ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE,
      `The operation's estimated cost is ${stats.cost}; this router allows ${limits.maxCost}. Ask for fewer items (a smaller \`first\`) or fewer nested lists.`,
      limits.maxCost,
      stats.cost,
    );
  }
}

function checkOncePerRequest(
  limits: OperationLimits,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  schema: GraphQLSchema | undefined,
): void {
  if (limits.oncePerRequest.length === 0) return;
  const rootName =
    schema?.getRootType(operation.operation)?.name ?? DEFAULT_ROOT_NAMES[operation.operation];
  for (const [field, times] of rootFieldCounts(document, operation)) {
    const coordinate = `${rootName}.${field}`;
    if (times > 1 && limits.oncePerRequest.includes(coordinate)) {
      throw refuse(
        ErrorCode.ONCE_PER_REQUEST_LIMIT,
        `The operation selects ${coordinate} ${times} times; this router runs it once per request. Send each in a request of its own.`,
        1,
        times,
      );
    }
  }
}

const DEFAULT_ROOT_NAMES = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' };

/** How often each root field is selected, under any alias and through any fragment. */
function rootFieldCounts(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Map<string, number> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const counts = new Map<string, number>();
  const expanding = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        counts.set(selection.name.value, (counts.get(selection.name.value) ?? 0) + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else {
        const fragment = fragments.get(selection.name.value);
        // A cycle or an unknown fragment fails validation; it adds nothing here.
        if (!fragment || expanding.has(selection.name.value)) continue;
        expanding.add(selection.name.value);
        walk(fragment.selectionSet);
        expanding.delete(selection.name.value);
      }
    }
  };
  walk(operation.selectionSet);
  return counts;
}

function refuse(code: ErrorCode, message: string, limit: number, found?: number): HttpError {
  return new HttpError(400, code, message, { limit, ...(found === undefined ? {} : { found }) });
}

/** Counts tokens the way graphql-js's parser does (comments excluded), stopping past `max`. */
function countTokens(query: string, max: number): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF && count <= max) count += 1;
  } catch {
    // A lexical error: Apollo Server reports it as a syntax error.
  }
  return count;
}

interface Stats {
  depth: number;
  aliases: number;
  directives: number;
  fieldRepeats: number;
  cost: number;
  /**
   * How often each response key is selected at this level, fragments merged in: a fragment's
   * fields land in the selection set it is spread into, so `... { __typename }` two hundred
   * times repeats `__typename` two hundred times.
   */
  keys: Map<string, number>;
}

/**
 * Measures one operation, expanding fragments (a fragment spread ten times counts ten times:
 * that is what executes). `variables` are the request's; a variable it leaves out takes the
 * operation's default for it.
 */
function measure(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  requestVariables: Readonly<Record<string, unknown>>,
  schema: GraphQLSchema | undefined,
): Stats {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  // A Map, and own properties only: a variable named `constructor` or `__proto__` must not read
  // what every object inherits.
  const variables = new Map<string, unknown>();
  for (const { variable, defaultValue } of operation.variableDefinitions ?? []) {
    const name = variable.name.value;
    const sent = Object.hasOwn(requestVariables, name) ? requestVariables[name] : undefined;
    variables.set(
      name,
      sent ?? (defaultValue?.kind === Kind.INT ? Number(defaultValue.value) : undefined),
    );
  }
  const fragmentStats = new Map<string, Stats>();
  const expanding = new Set<string>();

  const selectionSet = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined): Stats => {
    const total: Stats = {
      depth: 0,
      aliases: 0,
      directives: 0,
      fieldRepeats: 0,
      cost: 0,
      keys: new Map(),
    };
    const count = (key: string, times: number) => {
      const repeats = (total.keys.get(key) ?? 0) + times;
      total.keys.set(key, repeats);
      total.fieldRepeats = Math.max(total.fieldRepeats, repeats);
    };
    const add = (part: Omit<Stats, 'keys'>, depthOffset: number) => {
      total.depth = Math.max(total.depth, part.depth + depthOffset);
      total.aliases += part.aliases;
      total.directives += part.directives;
      total.fieldRepeats = Math.max(total.fieldRepeats, part.fieldRepeats);
      total.cost += part.cost;
    };
    /**
     * Adds a fragment's fields to this level. On an abstract type, a fragment on one of its
     * object types applies to that type alone, so its keys are counted apart: `... on A { id }
     * ... on B { id }` selects `id` once for any one object.
     */
    const merge = (part: Stats, condition: GraphQLCompositeType | undefined) => {
      add(part, 0);
      const scope =
        condition && parent && condition !== parent && isAbstractType(parent)
          ? `${condition.name}.`
          : '';
      for (const [key, times] of part.keys) count(scope + key, times);
    };
    for (const selection of set.selections) {
      total.directives += countDirectives(selection.directives);
      if (selection.kind === Kind.FIELD) {
        count(selection.alias?.value ?? selection.name.value, 1);
        if (selection.alias) total.aliases += 1;
        const definition = parent && fieldDefinition(schema, parent, selection);
        const type = definition && getNamedType(definition.type);
        const child = selection.selectionSet
          ? selectionSet(selection.selectionSet, isCompositeType(type) ? type : undefined)
          : undefined;
        add(
          {
            depth: child ? child.depth : 0,
            aliases: child?.aliases ?? 0,
            directives: child?.directives ?? 0,
            fieldRepeats: child?.fieldRepeats ?? 0,
            cost:
              !child || (type && isLeafType(type))
                ? 1
                : (1 + child.cost) * listSize(definition, selection, variables),
          },
          1,
        );
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const named =
          selection.typeCondition && schema?.getType(selection.typeCondition.name.value);
        const condition = isCompositeType(named) ? named : undefined;
        merge(selectionSet(selection.selectionSet, condition ?? parent), condition);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A cycle or an unknown fragment fails validation; it adds nothing here.
        if (!fragment || expanding.has(name)) continue;
        const named = schema?.getType(fragment.typeCondition.name.value);
        const condition = isCompositeType(named) ? named : undefined;
        let stats = fragmentStats.get(name);
        if (!stats) {
          expanding.add(name);
          stats = selectionSet(fragment.selectionSet, condition ?? parent);
          stats.directives += countDirectives(fragment.directives);
          expanding.delete(name);
          fragmentStats.set(name, stats);
        }
        merge(stats, condition);
      }
    }
    return total;
  };

  const root = schema?.getRootType(operation.operation) ?? undefined;
  const stats = selectionSet(operation.selectionSet, root);
  stats.directives += countDirectives(operation.directives);
  return stats;
}

function countDirectives(directives: readonly DirectiveNode[] | undefined): number {
  return directives?.length ?? 0;
}

function fieldDefinition(
  schema: GraphQLSchema | undefined,
  parent: GraphQLCompositeType,
  field: FieldNode,
): GraphQLField<unknown, unknown> | undefined {
  const name = field.name.value;
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (schema && parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return 'getFields' in parent ? parent.getFields()[name] : undefined;
}

/**
 * How many items a field is expected to return: its `first` (or `last`, `limit`) argument as
 * sent or as defaulted, else 1. A connection's edges are priced at the connection, once.
 */
function listSize(
  definition: GraphQLField<unknown, unknown> | undefined,
  field: FieldNode,
  variables: ReadonlyMap<string, unknown>,
): number {
  if (!definition) return 1;
  for (const argument of definition.args) {
    if (
      !SIZE_ARGUMENTS.includes(argument.name) ||
      getNullableType(argument.type).toString() !== 'Int'
    )
      continue;
    const node = field.arguments?.find((a) => a.name.value === argument.name)?.value;
    let value: unknown = argument.defaultValue;
    if (node?.kind === Kind.INT) value = Number(node.value);
    else if (node?.kind === Kind.VARIABLE) value = variables.get(node.name.value) ?? value;
    if (typeof value === 'number' && Number.isFinite(value)) return Math.max(1, Math.trunc(value));
  }
  return 1;
}
