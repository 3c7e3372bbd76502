/**
 * Where a class function's input is warm: each parameter set has its own instance in a container
 * (`@enter` once there, e.g. a model's weights loaded), so an input goes to a container that already
 * holds its set when one has a free slot, instead of making the set's instance in another (Modal
 * starts a pool per parameter set; here one pool's containers keep up to
 * CLASS_INSTANCES_PER_CONTAINER sets each, and the inputs follow them).
 *
 * The set is read from the payload's start: gateway/body.ts writes `params` first, keys sorted, so
 * the arguments, however large, are not parsed. Inputs without parameters use the instance every
 * container makes before it is ready, and have no set.
 */
import { CLASS_INSTANCES_PER_CONTAINER } from "@warmpool/schema";
import type { Container } from "../containers/container";

const PREFIX = '{"params":';

/** The input's parameter set as text (its JSON), or null when it names none. */
export function parameterSet(payload: string | null): string | null {
  if (payload === null || !payload.startsWith(PREFIX)) return null;
  const end = jsonEnd(payload, PREFIX.length);
  return end < 0 ? null : payload.slice(PREFIX.length, end);
}

/** `set` was sent to `c`: it is now its most recently used (the worker keeps as many, evicting the same way). */
export function remember(c: Container, set: string): void {
  const i = c.instances.indexOf(set);
  if (i >= 0) c.instances.splice(i, 1);
  c.instances.push(set);
  if (c.instances.length > CLASS_INSTANCES_PER_CONTAINER) c.instances.shift();
}

/** Where the JSON value (an object) that starts at `from` ends: the index after its closing brace; -1 if it does not. */
function jsonEnd(text: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) depth++;
    else if (ch === 125 /* } */ || ch === 93 /* ] */) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
