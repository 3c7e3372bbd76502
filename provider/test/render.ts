/**
 * Renders components under Pulumi's mocks and records what they register: the inputs each resource
 * reached the engine with (plain values), and the Outputs and options each was constructed with
 * (to check secret-ness and ignoreChanges).
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export interface Constructed {
  type: string;
  name: string;
  props: Record<string, any>;
  opts: pulumi.CustomResourceOptions;
}

export class Rendered {
  constructor(
    readonly registered: Registered[],
    readonly constructed: Constructed[],
  ) {}

  ofType(type: string): Registered[] {
    return this.registered.filter((r) => r.type === type);
  }

  /** The one resource of `type` (and `name`, when given); fails when there is not exactly one. */
  one(type: string, name?: string): Registered {
    const found = this.ofType(type).filter((r) => name === undefined || r.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${this.registered.map((r) => `${r.type}/${r.name}`).join(", ")}`);
    }
    return found[0]!;
  }

  construction(type: string, name?: string): Constructed {
    const found = this.constructed.filter((c) => c.type === type && (name === undefined || c.name === name));
    if (found.length !== 1) throw new Error(`expected one constructed ${type}, found ${found.length}`);
    return found[0]!;
  }

  types(): string[] {
    return [...new Set(this.registered.map((r) => r.type))].sort();
  }
}

export type Build = (opts: pulumi.ComponentResourceOptions) => unknown;

/**
 * Runs `build` with fresh mocks and returns once the engine has seen every registration: disconnect
 * waits for all outstanding resource RPCs, so nothing here depends on timing.
 */
/** What the engine reports back for a resource: its inputs, plus the outputs a provider computes that components read. */
function defaultState(type: string, inputs: Record<string, any>): Record<string, any> {
  // The Runtime's apiToken: the App derives its pods' token from it.
  if (type === "random:index/randomPassword:RandomPassword") return { ...inputs, result: "x".repeat(inputs.length ?? 16) };
  return inputs;
}

export async function render(build: Build, preview = false, stateOf: (type: string, inputs: Record<string, any>) => Record<string, any> = defaultState): Promise<Rendered> {
  const registered: Registered[] = [];
  const constructed: Constructed[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: preview ? undefined : `${args.name}-id`, state: stateOf(args.type, args.inputs) };
      },
      call: (args) => args.inputs,
    },
    "warmpool-test",
    "test",
    preview,
  );
  build({
    transformations: [
      (args) => {
        constructed.push({ type: args.type, name: args.name, props: args.props, opts: args.opts });
        return undefined;
      },
    ],
  });
  await pulumi.runtime.disconnect();
  return new Rendered(registered, constructed);
}

/** The resolved value of an Output. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}
