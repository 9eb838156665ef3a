import type { MarginLoss } from './types';

/**
 * A margin-loss class the registry can create. Its static `lossName` is the registry name and the only place a
 * loss writes it: `MarginLossBase` reads `name` from there, and `registerMarginLoss` registers under it.
 */
export interface MarginLossClass<Options extends object = Record<string, unknown>> {
  readonly lossName: string;
  new (options: Options): MarginLoss;
}

/** What a loss file registers: its class, its defaults and where it comes from. */
export interface MarginLossDefinition<Options extends object = Record<string, unknown>> {
  /** The loss class; it is registered under `loss.lossName` and created with the resolved options. */
  loss: MarginLossClass<Options>;
  /** One line: what the loss does. */
  summary: string;
  /** The paper that defines it. */
  reference: string;
  /** Every option with its default value; `getMarginLoss` rejects keys not listed here. */
  defaults: Readonly<Options>;
}

/** A registered loss: its definition and the name it is registered under (`loss.lossName`). */
export interface RegisteredMarginLoss<Options extends object = Record<string, unknown>> extends MarginLossDefinition<Options> {
  readonly name: string;
}

const definitions = new Map<string, RegisteredMarginLoss<object>>();

export function registerMarginLoss<Options extends object>(definition: MarginLossDefinition<Options>): void {
  const name: unknown = definition.loss?.lossName;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new Error(
      `margin loss class ${definition.loss?.name ?? String(definition.loss)} needs a static lossName in lower-case kebab-case; got ${String(name)}`,
    );
  }
  if (definitions.has(name)) {
    throw new Error(`margin loss '${name}' is already registered`);
  }
  definitions.set(name, { ...definition, name } as unknown as RegisteredMarginLoss<object>);
}

/** Registered loss names, sorted. */
export function listMarginLosses(): string[] {
  return [...definitions.keys()].sort();
}

export function getMarginLossDefinition(name: string): RegisteredMarginLoss<object> {
  const definition = definitions.get(name);
  if (!definition) {
    throw new Error(`unknown margin loss '${name}'; registered: ${listMarginLosses().join(', ')}`);
  }
  return definition;
}

/**
 * Creates a registered loss; options not given take the definition's defaults. The loss's `name` is the name
 * it was created under (a margin head saves that name and restores the loss from it).
 */
export function getMarginLoss(name: string, options: Record<string, unknown> = {}): MarginLoss {
  const definition = getMarginLossDefinition(name);
  const known = Object.keys(definition.defaults);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new Error(`margin loss '${name}' has no option '${key}'; options: ${known.join(', ') || '(none)'}`);
    }
  }
  const resolved = { ...definition.defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) if (value !== undefined) resolved[key] = value;
  const loss = new definition.loss(resolved);
  if (loss.name !== name) {
    throw new Error(`margin loss '${name}' created a loss named '${loss.name}'; a loss's name must be its class's lossName`);
  }
  return loss;
}
