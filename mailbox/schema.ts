/**
 * The shape of a schema as Troupe uses it, for protocols, queues and events. Every zod 4 schema fits
 * it; nothing here depends on zod itself.
 *
 * @module
 */

/** One problem a schema found, with the path of the offending field. */
export interface SchemaIssue {
  /** Where in the value: `["tags", 0]`; empty for the value itself. */
  readonly path: readonly PropertyKey[];
  /** What is wrong. */
  readonly message: string;
}

/** What a schema returns from `safeParse`. */
export type SchemaResult<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: { readonly issues: readonly SchemaIssue[] } };

/**
 * What Troupe needs of a schema. Every zod 4 schema (`z.object(…)`, `z.number()`, …) fits: it
 * validates with `safeParse`, and carries its input and output types in its Standard Schema
 * properties.
 *
 * @typeParam Output The type a valid value parses to.
 * @typeParam Input The type a caller passes in.
 */
export interface Schema<Output = unknown, Input = unknown> {
  /** Validates a value: the parsed value, or the issues that refused it. */
  safeParse(value: unknown): SchemaResult<Output>;
  /** The Standard Schema properties, which carry the types. */
  readonly "~standard": {
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The type a schema parses to. */
export type SchemaOutput<S> = S extends { readonly "~standard": { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly output: infer O } ? O : unknown
  : unknown;

/** The type a schema accepts. */
export type SchemaInput<S> = S extends { readonly "~standard": { readonly types?: infer T } }
  ? NonNullable<T> extends { readonly input: infer I } ? I : unknown
  : unknown;
