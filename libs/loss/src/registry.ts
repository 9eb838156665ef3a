import type { MarginLoss } from './types';

/** A registered margin loss: its defaults and a factory that validates resolved options. */
export interface MarginLossDefinition<Options extends object = Record<string, unknown>> {
  name: string;
  /** One line: what the loss does. */
  summary: string;
  /** The paper that defines it. */
  reference: string;
  /** Every option with its default value; `getMarginLoss` rejects keys not listed here. */
  defaults: Readonly<Options>;
  create(options: Options): MarginLoss;
}

const definitions = new Map<string, MarginLossDefinition<object>>();

export function registerMarginLoss<Options extends object>(definition: MarginLossDefinition<Options>): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`margin loss name '${definition.name}' must be lower-case kebab-case`);
  }
  if (definitions.has(definition.name)) {
    throw new Error(`margin loss '${definition.name}' is already registered`);
  }
  definitions.set(definition.name, definition as unknown as MarginLossDefinition<object>);
}

/** Registered loss names, sorted. */
export function listMarginLosses(): string[] {
  return [...definitions.keys()].sort();
}

export function getMarginLossDefinition(name: string): MarginLossDefinition<object> {
  const definition = definitions.get(name);
  if (!definition) {
    throw new Error(`unknown margin loss '${name}'; registered: ${listMarginLosses().join(', ')}`);
  }
  return definition;
}

/** Creates a registered loss; options not given take the definition's defaults. */
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
  return definition.create(resolved);
}
