/**
 * The type of a component's `spec` output: the validated spec as JSON. The generated spec types use
 * unions of string literals for enums, which Pulumi's schema inference rejects in outputs; a map of
 * JSON values crosses every language, and TypeScript programs can narrow it with the spec types.
 */
export type SpecOutput = { [key: string]: any };
