/**
 * Reading a class input's parameter set from its payload (dispatcher/affinity.ts), as the gateway
 * writes payloads (gateway/body.ts: `params` first, keys sorted).
 */
import { CLASS_INSTANCES_PER_CONTAINER } from "@warmpool/schema";
import { Container } from "../src/containers/container";
import { parameterSet, remember } from "../src/dispatcher/affinity";
import { invocationPayload } from "../src/gateway/body";

test("the set is the payload's params, whatever the arguments hold, and the same for the same parameters in any order", () => {
  const a = invocationPayload({ args: ['}{"params":', { x: '"}' }], method: "m", params: { b: '}"{', a: [1, { c: 2 }] } });
  expect(parameterSet(a)).toBe('{"a":[1,{"c":2}],"b":"}\\"{"}');
  const b = invocationPayload({ params: { a: [1, { c: 2 }], b: '}"{' }, method: "n" });
  expect(parameterSet(b)).toBe(parameterSet(a));
});

test("no parameters (the instance every container makes before it is ready), no payload in memory, or a payload written before: no set", () => {
  expect(parameterSet(invocationPayload({ args: [{ params: { a: 1 } }], method: "m" }))).toBeNull();
  expect(parameterSet(invocationPayload({ args: [1] }))).toBeNull();
  expect(parameterSet(null)).toBeNull();
  expect(parameterSet('{"args":[],"kwargs":{},"method":"m","params":{"a":1}}')).toBeNull();
});

test("a container remembers as many sets as its worker keeps, the least recently sent forgotten first", () => {
  const c = new Container("c", 0);
  for (let i = 0; i <= CLASS_INSTANCES_PER_CONTAINER; i++) remember(c, `{"i":${i}}`);
  remember(c, '{"i":1}');
  expect(c.instances).toHaveLength(CLASS_INSTANCES_PER_CONTAINER);
  expect(c.instances[0]).toBe('{"i":2}');
  expect(c.instances.at(-1)).toBe('{"i":1}');
  expect(c.instances).not.toContain('{"i":0}');
});
