/**
 * The route table (src/routes/table.ts) as plain data: which endpoint a path and Host pick, how domains
 * map to apps, and the held-request counters a redeploy carries over. The router, status and the
 * HAProxy configuration all read this one table.
 */
import { parseSpec } from "@warmpool/schema";
import { gatewayUrl } from "../src/routes/routing";
import { RouteTable, type RoutedApp } from "../src/routes/table";

const endpoint = (app: string, name: string, spec: object = {}) => parseSpec("Endpoint", { app, name, function: "f", ...spec }, `endpoint ${name}`);

const APPS: RoutedApp[] = [
  { name: "shop", endpoints: [endpoint("shop", "root"), endpoint("shop", "api", { path: "/api" }), endpoint("shop", "v2", { path: "/api/v2/" }), endpoint("shop", "twin", { path: "/api" })] },
  { name: "blog", endpoints: [endpoint("blog", "site", { domains: ["blog.example.com", "shared.example.com"] }), endpoint("blog", "admin", { path: "/admin" })] },
  { name: "wiki", endpoints: [endpoint("wiki", "site", { domains: ["shared.example.com"] })] },
];

describe("RouteTable", () => {
  const table = new RouteTable(APPS);

  test.each([
    ["the root catches what nothing longer matches", "shop", "/anything", "root"],
    ["a prefix matches itself", "shop", "/api", "api"],
    ["and below it", "shop", "/api/x", "api"],
    ["at a segment boundary only", "shop", "/apix", "root"],
    ["the longest prefix wins, a trailing slash in its path is not needed", "shop", "/api/v2", "v2"],
    ["the first declared of two equal prefixes", "shop", "/api/y", "api"],
    ["path parameters count as their segment", "shop", "/api;jsessionid=1/v2/x", "v2"],
    ["an endpoint without a path is the app's root", "blog", "/nothing-here/x", "site"],
  ])("%s: %s %s → %s", (_why, app, path, want) => {
    expect(table.match(app, path, "", false)?.name).toBe(want);
  });

  test("an unknown app has no route", () => {
    expect(table.match("nope", "/", "", false)).toBeUndefined();
  });

  test("a request by domain reaches only the endpoints that list the domain", () => {
    expect(table.match("blog", "/admin", "blog.example.com", true)?.name).toBe("site");
    expect(table.match("blog", "/admin", "", false)?.name).toBe("admin");
  });

  test("a domain belongs to the first deployed app that declares it; every app declaring it is known", () => {
    expect(table.appOfDomain("blog.example.com")).toBe("blog");
    expect(table.appOfDomain("shared.example.com")).toBe("blog");
    expect(table.appOfDomain("other.example.com")).toBeUndefined();
    expect(new Map(table.domains()).get("shared.example.com")).toEqual(["blog", "wiki"]);
  });

  test("routes as declared for status, longest first for matching", () => {
    expect(table.routes("shop").map((r) => r.name)).toEqual(["root", "api", "v2", "twin"]);
    expect(new Map(table.apps()).get("shop")?.map((r) => r.name)).toEqual(["v2", "api", "twin", "root"]);
    expect(table.get("shop", "v2")).toMatchObject({ key: "shop/v2", prefix: "/api/v2", gatewayPath: "/web/shop/api/v2/", allow: "GET, POST" });
  });

  test("gatewayUrl: a Host that is a domain goes under /web/<app>, others keep their path", () => {
    const req = (host: string, url = "/a//b/../c?q=1") => ({ url, headers: { host } });
    expect(gatewayUrl(table, req("Blog.Example.com:8080"))).toBe("/web/blog/a/c?q=1");
    expect(gatewayUrl(table, req("127.0.0.1:8765"))).toBe("/a/c?q=1");
    expect(gatewayUrl(table, req("unknown.example.com"))).toBe("/a/c?q=1");
  });
});

describe("held requests per route", () => {
  test("count against maxPendingRequests, refuse past it with a 503 naming the endpoint", () => {
    const table = new RouteTable([{ name: "shop", endpoints: [endpoint("shop", "api", { maxPendingRequests: 2 })] }]);
    const held = table.get("shop", "api")!.held;
    held.enter("shop/f");
    held.enter("shop/f");
    expect(() => held.enter("shop/f")).toThrow(expect.objectContaining({ code: "WP_ERR_ENDPOINT_OVERLOADED", status: 503, details: { pending: 2, limit: 2, retryAfter: 1 } }));
    held.leave();
    expect(held.size).toBe(1);
  });

  test("carry over a redeploy that keeps the endpoint and its limit; start afresh otherwise", () => {
    const before = new RouteTable([{ name: "shop", endpoints: [endpoint("shop", "api"), endpoint("shop", "other", { maxPendingRequests: 5 })] }]);
    before.get("shop", "api")!.held.enter("shop/f");
    const after = new RouteTable([{ name: "shop", endpoints: [endpoint("shop", "api", { path: "/v2" }), endpoint("shop", "other", { maxPendingRequests: 6 })] }], before);
    expect(after.get("shop", "api")!.held).toBe(before.get("shop", "api")!.held);
    expect(after.get("shop", "api")!.held.size).toBe(1);
    expect(after.get("shop", "other")!.held).not.toBe(before.get("shop", "other")!.held);
  });
});
