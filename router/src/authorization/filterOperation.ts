import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { meetsRequirement, type CallerRequirement, type Identity } from '@supergraph/identity';
import type { AccessRequirements } from './requirements.js';

/**
 * One step of the path to a selection that was taken out, as Apollo Router records it: a field
 * (`/topProducts`), the items of a list (`/@`), a fragment (`/... on Book`).
 */
export type PathSegment =
  | { readonly kind: 'field'; readonly name: string; readonly responseKey: string }
  | { readonly kind: 'list' }
  | { readonly kind: 'fragment'; readonly typeName: string };

/** A selection the caller may not see, and why. */
export interface RemovedSelection {
  /** From the operation's root; empty when the whole operation was taken out. */
  readonly path: readonly PathSegment[];
  /** The schema coordinate (`Query.me`, `PrivateBlog`, `Mutation`) whose requirement is not met. */
  readonly requiredBy: string;
  /** That requirement, as far as this caller fails it. */
  readonly requirement: CallerRequirement;
}

/** What is left of an operation once the selections the caller may not see are taken out. */
export interface FilteredOperation {
  /** What to execute; the caller's document itself in a dry run. */
  readonly document: DocumentNode;
  /** Where `document` asks for the object type of abstract values (see `withRuntimeTypes`). */
  readonly runtimeTypeKey: string;
  /** Each selection taken out, in document order, as Apollo Router lists them. */
  readonly removed: readonly RemovedSelection[];
  /** Types whose fragments were taken out: the caller sees none of their fields, not even as null. */
  readonly hiddenTypes: ReadonlySet<string>;
  /** Nothing is left to execute: every operation was taken out. */
  readonly empty: boolean;
}

export interface FilterOptions {
  /** Record what would be taken out and take nothing out (Apollo Router's `dry_run`). */
  readonly dryRun?: boolean;
}

/**
 * Takes out of `document` every selection that `identity` may not see under `@authenticated` /
 * `@requiresScopes`, before the query planner sees it, so no subgraph is ever asked for them.
 * Returns null when the caller may see everything, which is the common case.
 *
 * The rules are Apollo Router's (2.13, `plugins/authorization`), checked against its own test
 * cases by filterOperation.cases.test.ts:
 * - a field is taken out when the caller fails its own requirement or that of the type it
 *   returns; a fragment, when the caller fails its type condition's;
 * - a requirement on a root operation type takes out the whole operation;
 * - a field of an interface is taken out when any implementation's field would be;
 * - a field that returns an interface, and selects more than `__typename` and fragments on it,
 *   is taken out when any implementation's type would be: fragments on the types the caller may
 *   see are how a caller asks for the rest;
 * - a field or fragment left with nothing to select goes too, and an operation left with nothing
 *   is not run; variables and fragments no longer used leave the document with them.
 *
 * As in Router, `@authenticated` is applied first and `@requiresScopes` to what is left.
 */
export function filterOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  requirements: AccessRequirements,
  identity: Identity | null,
  options: FilterOptions = {},
): FilteredOperation | null {
  const passes: Pass[] = [];
  // An authenticated caller meets every @authenticated: that pass could take nothing out.
  if (!identity) {
    passes.push({
      requirementOf: (requirement) =>
        requirement?.authenticated ? { authenticated: true, scopes: undefined } : undefined,
      identity,
    });
  }
  passes.push({
    requirementOf: (requirement) =>
      requirement?.scopes ? { authenticated: false, scopes: requirement.scopes } : undefined,
    identity,
  });

  let current = document;
  const removed: RemovedSelection[] = [];
  const hiddenTypes = new Set<string>();
  for (const pass of passes) {
    const result = new DocumentFilter(
      schema,
      requirements,
      pass,
      options.dryRun ?? false,
      hiddenTypes,
    ).run(current);
    removed.push(...result.removed);
    current = result.document;
    if (current.definitions.length === 0) break;
  }
  if (removed.length === 0) return null;
  const empty = !current.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (options.dryRun || empty) {
    const kept = options.dryRun ? document : current;
    return { document: kept, runtimeTypeKey: '', removed, hiddenTypes, empty };
  }
  const runtimeTypeKey = unusedResponseKey(document);
  return {
    document: withRuntimeTypes(schema, current, runtimeTypeKey),
    runtimeTypeKey,
    removed,
    hiddenTypes,
    empty,
  };
}

/** Apollo Router's way of writing a path: `/topProducts/reviews/@`, `/itf/... on B`, `` for the root. */
export function routerPath(path: readonly PathSegment[]): string {
  return path
    .map((segment) =>
      segment.kind === 'field'
        ? `/${segment.name}`
        : segment.kind === 'list'
          ? '/@'
          : `/... on ${segment.typeName}`,
    )
    .join('');
}

/** One of the two filters Router runs one after the other, reduced to the part of a requirement it checks. */
interface Pass {
  requirementOf(requirement: CallerRequirement | undefined): CallerRequirement | undefined;
  readonly identity: Identity | null;
}

interface FilteredFragment {
  /** Null when the fragment was taken out whole. */
  readonly node: FragmentDefinitionNode | null;
  /** What was taken out inside it, from the fragment's own root: reported where it is spread. */
  readonly removed: readonly RemovedSelection[];
  readonly variables: ReadonlySet<string>;
  readonly spreads: ReadonlySet<string>;
}

/** Variables and fragments a kept part of the document still uses. */
interface Usage {
  readonly variables: Set<string>;
  readonly spreads: Set<string>;
}

class DocumentFilter {
  private readonly fragmentNodes = new Map<string, FragmentDefinitionNode>();
  private readonly fragments = new Map<string, FilteredFragment>();
  private readonly inProgress = new Set<string>();
  private readonly removed: RemovedSelection[] = [];

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly requirements: AccessRequirements,
    private readonly pass: Pass,
    private readonly dryRun: boolean,
    private readonly hiddenTypes: Set<string>,
  ) {}

  run(document: DocumentNode): { document: DocumentNode; removed: RemovedSelection[] } {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION)
        this.fragmentNodes.set(definition.name.value, definition);
    }
    // Fragments first, each once: what they lose is then known wherever they are spread.
    for (const name of this.fragmentNodes.keys()) this.fragment(name);

    const operations: OperationDefinitionNode[] = [];
    const usedFragments = new Set<string>();
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const usage: Usage = { variables: new Set(), spreads: new Set() };
      const kept = this.operation(definition, usage);
      if (!kept) continue;
      // The fragments it uses through other fragments, and the variables those use.
      const pending = [...usage.spreads];
      for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
        if (usedFragments.has(name)) continue;
        usedFragments.add(name);
        const fragment = this.fragments.get(name);
        for (const variable of fragment?.variables ?? []) usage.variables.add(variable);
        pending.push(...(fragment?.spreads ?? []));
      }
      operations.push({
        ...kept,
        variableDefinitions: kept.variableDefinitions?.filter((definition) =>
          usage.variables.has(definition.variable.name.value),
        ),
      });
    }
    const definitions: DefinitionNode[] = [...operations];
    for (const [name, fragment] of this.fragments) {
      if (fragment.node && usedFragments.has(name)) definitions.push(fragment.node);
    }
    return { document: { kind: Kind.DOCUMENT, definitions }, removed: this.removed };
  }

  /** The part of a declared requirement this pass checks, if the caller fails it. */
  private failed(declared: CallerRequirement | undefined): CallerRequirement | undefined {
    const requirement = this.pass.requirementOf(declared);
    return requirement && !meetsRequirement(requirement, this.pass.identity)
      ? requirement
      : undefined;
  }

  private failedByType(typeName: string): RemovedSelectionReason | undefined {
    const requirement = this.failed(this.requirements.ofType(typeName));
    return requirement && { requiredBy: typeName, requirement };
  }

  /** Why a fragment on `typeName` goes, if it does. */
  private failedByFragmentType(typeName: string): RemovedSelectionReason | undefined {
    const reason = this.failedByType(typeName);
    if (reason) this.hiddenTypes.add(typeName);
    return reason;
  }

  /** A field's own requirement, then that of the type it returns. */
  private failedByField(
    parent: GraphQLNamedType,
    field: GraphQLField<unknown, unknown>,
  ): RemovedSelectionReason | undefined {
    const requirement = this.failed(this.requirements.ofField(parent.name, field.name));
    if (requirement) return { requiredBy: `${parent.name}.${field.name}`, requirement };
    return this.failedByType(getNamedType(field.type).name);
  }

  private implementations(type: GraphQLNamedType): readonly GraphQLNamedType[] {
    if (!isInterfaceType(type)) return [];
    const { objects, interfaces } = this.schema.getImplementations(type);
    return [...objects, ...interfaces];
  }

  private record(path: readonly PathSegment[], reason: RemovedSelectionReason): void {
    this.removed.push({ requiredBy: reason.requiredBy, requirement: reason.requirement, path });
  }

  private fragment(name: string): FilteredFragment | undefined {
    const known = this.fragments.get(name);
    if (known) return known;
    const node = this.fragmentNodes.get(name);
    // Apollo Server's validation refuses fragment cycles before the gateway runs; were one to
    // get here, its spread would go rather than recurse without end.
    if (!node || this.inProgress.has(name)) return undefined;
    this.inProgress.add(name);
    // Reported where the fragment is spread, so kept apart from the document's own list.
    const outer = this.removed.splice(0);
    const usage: Usage = { variables: new Set(), spreads: new Set() };
    const typeName = node.typeCondition.name.value;
    const type = this.schema.getType(typeName);
    const reason = this.failedByFragmentType(typeName);
    let kept: FragmentDefinitionNode | null = null;
    if (reason) this.record([], reason);
    if ((!reason || this.dryRun) && type) {
      const selectionSet = this.selectionSet(type, node.selectionSet, [], usage);
      if (selectionSet) {
        kept = { ...node, selectionSet };
        this.directives(node.directives, usage);
      }
    }
    const filtered: FilteredFragment = {
      node: kept,
      removed: this.removed.splice(0),
      variables: usage.variables,
      spreads: usage.spreads,
    };
    this.removed.push(...outer);
    this.fragments.set(name, filtered);
    this.inProgress.delete(name);
    return filtered;
  }

  private operation(
    node: OperationDefinitionNode,
    usage: Usage,
  ): OperationDefinitionNode | undefined {
    const root = this.schema.getRootType(node.operation);
    if (!root) return undefined;
    const reason = this.failedByType(root.name);
    if (reason) {
      this.record([], reason);
      if (!this.dryRun) return undefined;
    }
    const selectionSet = this.selectionSet(root, node.selectionSet, [], usage);
    if (!selectionSet) return undefined;
    this.directives(node.directives, usage);
    return { ...node, selectionSet };
  }

  /** Null when every selection was taken out. */
  private selectionSet(
    parent: GraphQLNamedType,
    node: SelectionSetNode,
    path: readonly PathSegment[],
    usage: Usage,
  ): SelectionSetNode | null {
    const selections: SelectionNode[] = [];
    for (const selection of node.selections) {
      const kept =
        selection.kind === Kind.FIELD
          ? this.field(parent, selection, path, usage)
          : selection.kind === Kind.INLINE_FRAGMENT
            ? this.inlineFragment(parent, selection, path, usage)
            : this.fragmentSpread(selection.name.value, selection.directives, path, usage) &&
              selection;
      if (kept) selections.push(kept);
    }
    return selections.length > 0 ? { ...node, selections } : null;
  }

  private field(
    parent: GraphQLNamedType,
    node: FieldNode,
    parentPath: readonly PathSegment[],
    usage: Usage,
  ): FieldNode | null {
    const definition = fieldDefinition(this.schema, parent, node.name.value);
    // graphql-js validated the document against this schema, so this does not happen; if it
    // did, the gateway's own validation would answer it.
    if (!definition) return node;
    const path: PathSegment[] = [
      ...parentPath,
      { kind: 'field', name: node.name.value, responseKey: node.alias?.value ?? node.name.value },
    ];
    if (isListType(getNullableType(definition.type))) path.push({ kind: 'list' });

    const reason =
      this.failedByField(parent, definition) ??
      this.failedByImplementingTypes(definition, node) ??
      this.failedByImplementingFields(parent, node.name.value);
    if (reason) {
      this.record(path, reason);
      if (!this.dryRun) return null;
    }
    let selectionSet: SelectionSetNode | null | undefined;
    if (node.selectionSet) {
      selectionSet = this.selectionSet(
        getNamedType(definition.type),
        node.selectionSet,
        path,
        usage,
      );
      if (!selectionSet) return null;
    }
    for (const argument of node.arguments ?? []) variablesIn(argument.value, usage.variables);
    this.directives(node.directives, usage);
    return selectionSet ? { ...node, selectionSet } : node;
  }

  /**
   * A field that returns an interface and selects fields on it directly: values of any
   * implementation can come back, so each implementation's type requirement applies.
   * `__typename` alone, and fragments, which name the type they select from, are exempt.
   */
  private failedByImplementingTypes(
    definition: GraphQLField<unknown, unknown>,
    node: FieldNode,
  ): RemovedSelectionReason | undefined {
    if (node.name.value === '__typename' || !node.selectionSet) return undefined;
    if (!this.selectsFromInterface(node.selectionSet, new Set())) return undefined;
    for (const implementation of this.implementations(getNamedType(definition.type))) {
      const reason = this.failedByType(implementation.name);
      if (reason) return reason;
    }
    return undefined;
  }

  /**
   * Whether a selection set asks for a field other than `__typename` of whatever object comes
   * back. Router looks at the direct selections only, so that `... on Post { title }` or a
   * fragment without a type condition would read every implementation's `title`, a protected
   * one's too; here a fragment on an interface (or on no type) counts as what it selects.
   */
  private selectsFromInterface(node: SelectionSetNode, seen: Set<string>): boolean {
    return node.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value !== '__typename';
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition?.name.value;
        return (
          (condition === undefined || isAbstractType(this.schema.getType(condition))) &&
          this.selectsFromInterface(selection.selectionSet, seen)
        );
      }
      const fragment = this.fragmentNodes.get(selection.name.value);
      if (!fragment || seen.has(selection.name.value)) return false;
      seen.add(selection.name.value);
      return (
        isAbstractType(this.schema.getType(fragment.typeCondition.name.value)) &&
        this.selectsFromInterface(fragment.selectionSet, seen)
      );
    });
  }

  /** A field of an interface needs what the same field of every implementation needs. */
  private failedByImplementingFields(
    parent: GraphQLNamedType,
    fieldName: string,
  ): RemovedSelectionReason | undefined {
    for (const implementation of this.implementations(parent)) {
      if (!isObjectType(implementation) && !isInterfaceType(implementation)) continue;
      const field = implementation.getFields()[fieldName];
      const reason = field && this.failedByField(implementation, field);
      if (reason) return reason;
    }
    return undefined;
  }

  private inlineFragment(
    parent: GraphQLNamedType,
    node: InlineFragmentNode,
    parentPath: readonly PathSegment[],
    usage: Usage,
  ): InlineFragmentNode | null {
    const typeName = node.typeCondition?.name.value;
    const path: PathSegment[] = [...parentPath, { kind: 'fragment', typeName: typeName ?? '' }];
    const type = typeName === undefined ? parent : this.schema.getType(typeName);
    if (!type) return node;
    const reason = typeName === undefined ? undefined : this.failedByFragmentType(typeName);
    if (reason) {
      this.record(path, reason);
      if (!this.dryRun) return null;
    }
    const selectionSet = this.selectionSet(type, node.selectionSet, path, usage);
    if (!selectionSet) return null;
    this.directives(node.directives, usage);
    return { ...node, selectionSet };
  }

  /** Whether the spread stays. */
  private fragmentSpread(
    name: string,
    directives: readonly DirectiveNode[] | undefined,
    parentPath: readonly PathSegment[],
    usage: Usage,
  ): boolean {
    const fragment = this.fragment(name);
    // What the fragment lost, where it is applied.
    for (const removed of fragment?.removed ?? [])
      this.record([...parentPath, ...removed.path], removed);
    // A fragment whose type the caller fails was reported where it is defined, above; in a dry
    // run it stays, and is not reported twice.
    if (!fragment?.node) return false;
    usage.spreads.add(name);
    this.directives(directives, usage);
    return true;
  }

  private directives(directives: readonly DirectiveNode[] | undefined, usage: Usage): void {
    for (const directive of directives ?? [])
      for (const argument of directive.arguments ?? [])
        variablesIn(argument.value, usage.variables);
  }
}

type RemovedSelectionReason = Omit<RemovedSelection, 'path'>;

function fieldDefinition(
  schema: GraphQLSchema,
  parent: GraphQLNamedType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function variablesIn(value: ValueNode, into: Set<string>): void {
  switch (value.kind) {
    case Kind.VARIABLE:
      into.add(value.name.value);
      break;
    case Kind.LIST:
      for (const item of value.values) variablesIn(item, into);
      break;
    case Kind.OBJECT:
      for (const field of value.fields) variablesIn(field.value, into);
      break;
    default:
      break;
  }
}

/**
 * A response key the document does not use, under which the filtered document asks for the
 * object type of every abstract value: completeResponse needs it to lay the original operation
 * over the result, and the caller's own selections may not include `__typename`.
 */
function unusedResponseKey(document: DocumentNode): string {
  const used = new Set<string>();
  visit(document, { Field: (node) => void used.add(node.alias?.value ?? node.name.value) });
  let key = '_routerRuntimeType';
  while (used.has(key)) key = `_${key}`;
  return key;
}

function withRuntimeTypes(
  schema: GraphQLSchema,
  document: DocumentNode,
  key: string,
): DocumentNode {
  const runtimeType: FieldNode = {
    kind: Kind.FIELD,
    alias: { kind: Kind.NAME, value: key },
    name: { kind: Kind.NAME, value: '__typename' },
  };
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      SelectionSet: {
        leave(node) {
          const type: GraphQLCompositeType | null | undefined = typeInfo.getParentType();
          return type && isAbstractType(type)
            ? { ...node, selections: [...node.selections, runtimeType] }
            : undefined;
        },
      },
    }),
  );
}
