/**
 * The one normal form of request paths (src/routes/target.ts): a table of the bypasses an attacker
 * tried (doubled slashes, dot segments, encoded letters, encoded slashes), and properties over
 * generated paths: normalisation is idempotent, and every path HAProxy forwards as it is (FAST_PATH)
 * is one normalisation leaves unchanged — so both data planes send a web server the same path.
 */
import * as fc from "fast-check";
import { FAST_PATH, normalizePath, normalizeTarget } from "../src/routes/target";

const ok = (path: string) => ({ ok: true, path });

test.each([
  ["/", "/"],
  ["/private/x", "/private/x"],
  ["//private/x", "/private/x"],
  ["/web/app//private/x", "/web/app/private/x"],
  ["/%70rivate", "/private"],
  ["/%2e%2e/private", "/private"],
  ["/%2E/private", "/private"],
  ["/./private", "/private"],
  ["/a/../private", "/private"],
  ["/a/b/../../private", "/private"],
  ["/../../private", "/private"],
  ["/a/..", "/"],
  ["/a/.", "/a/"],
  ["/a/b/..", "/a/"],
  ["/a//", "/a/"],
  ["/a%20b", "/a%20b"],
  ["/a%c3%a9", "/a%C3%A9"],
  ["/%7euser", "/~user"],
  ["/.hidden/x", "/.hidden/x"],
  ["/a..b/c", "/a..b/c"],
])("%s → %s", (raw, normal) => {
  expect(normalizePath(raw)).toEqual(ok(normal));
});

test.each([
  ["/private%2fx", "encoded slash"],
  ["/private%2Fx", "encoded slash"],
  ["/a%5cb", "encoded backslash"],
  ["/a%00b", "encoded NUL"],
  ["/a\\b", "backslash"],
  ["/a%zz", "invalid percent-encoding"],
  ["/a%4", "invalid percent-encoding"],
  ["/a%", "invalid percent-encoding"],
  ["http://evil.test/private", "must be a path"],
  ["*", "must be a path"],
])("%s is refused (%s)", (raw, why) => {
  const n = normalizePath(raw);
  expect(n.ok).toBe(false);
  expect(n.ok ? "" : n.reason).toContain(why);
});

test("the query is kept as it came; only the path is normalised", () => {
  expect(normalizeTarget("//a/../b?x=..//%2f")).toEqual({
    ok: true,
    path: "/b",
    query: "?x=..//%2f",
  });
});

/** Paths built from the pieces bypasses are made of. */
const piece = fc.constantFrom("/", "//", ".", "..", "%2e", "%2E", "%70", "%41", "%7e", "%20", "%c3", "a", "b", "private", "~", "-", "_", "%25", "x.y", ";", "@");
const paths = fc.array(piece, { maxLength: 12 }).map((parts) => `/${parts.join("")}`);
const fast = new RegExp(FAST_PATH);

test("normalisation is idempotent, and its output has no dot segments or empty segments", () => {
  fc.assert(
    fc.property(paths, (raw) => {
      const once = normalizePath(raw);
      if (!once.ok) return;
      expect(normalizePath(once.path)).toEqual(once);
      expect(once.path.split("/").slice(1, -1)).not.toContain("");
      for (const s of once.path.split("/")) expect([".", ".."]).not.toContain(s);
    }),
    { numRuns: 5000 },
  );
});

test("a path HAProxy forwards as it is (FAST_PATH) is one normalisation leaves unchanged", () => {
  fc.assert(
    fc.property(paths, (raw) => {
      if (fast.test(raw)) expect(normalizePath(raw)).toEqual(ok(raw));
    }),
    { numRuns: 5000 },
  );
  // And it does take the common ones.
  for (const p of ["/", "/web/app/x", "/web/app/x/", "/a.b/c-d_e~f"]) expect(fast.test(p)).toBe(true);
  for (const p of ["//x", "/./x", "/x/..", "/%70", "/a'b"]) expect(fast.test(p)).toBe(false);
});
