// A named table of components (partitioners, tasks, workloads): lookup with a clear error, params validation.
import type { z } from 'zod';
import { InvariantError, UnknownNameError } from './errors.js';
import { parseOrThrow } from './validate.js';

/** What every registered component has: a unique name, a summary and a zod schema for its params. */
export interface RegistryEntry {
  readonly name: string;
  readonly summary: string;
  readonly params: z.ZodType;
}

/**
 * A registry of `kind` entries (e.g. "partitioner"). Invariant: names are unique. Lookups of unknown
 * names throw UnknownNameError listing every valid name; params are validated with errors that name
 * the field under `<kind>.params`.
 */
export class Registry<E extends RegistryEntry> {
  private readonly entries: E[] = [];

  constructor(
    readonly kind: string,
    initial: readonly E[] = [],
  ) {
    for (const e of initial) this.register(e);
  }

  /** Adds an entry; InvariantError when the name is taken. */
  register(e: E): void {
    if (this.entries.some((x) => x.name === e.name)) throw new InvariantError(`${this.kind} ${e.name} registered twice`, { name: e.name });
    this.entries.push(e);
  }

  /** All names, in registration order. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** The entry of `name`, or an UnknownNameError naming `field` and listing the valid names. */
  get(name: string, field = `${this.kind}.name`): E {
    const e = this.entries.find((x) => x.name === name);
    if (!e) throw new UnknownNameError(this.kind, name, this.names(), field);
    return e;
  }

  /** Validates `params` of `name` (defaults filled in); errors name the field under `field`. */
  parseParams(name: string, params: unknown, field = `${this.kind}.params`): Record<string, unknown> {
    return parseOrThrow(this.get(name).params, params ?? {}, field) as Record<string, unknown>;
  }
}
