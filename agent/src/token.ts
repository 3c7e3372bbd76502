/**
 * The API token: generated on first start (32 random bytes, hex), stored in `<stateDir>/token` with
 * mode 0600, and read back on later starts. The caller prints it once, when it was created; it is never
 * logged.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { appTokenMac, parseAppToken } from "@warmpool/schema";

export function loadOrCreateToken(stateDir: string): { token: string; created: boolean; file: string } {
  const file = path.join(stateDir, "token");
  try {
    const token = fs.readFileSync(file, "utf8").trim();
    if (token !== "") return { token, created: false, file };
  } catch {
    // First start.
  }
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = `wp_${randomBytes(32).toString("hex")}`;
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: "w" });
  fs.chmodSync(file, 0o600);
  return { token, created: true, file };
}

/** How an `Authorization` header compares with `Bearer <token>` (in constant time). */
export type TokenCheck = (header: string | undefined) => "ok" | "missing" | "wrong";

export function bearerCheck(token: string): TokenCheck {
  const expected = Buffer.from(`Bearer ${token}`);
  return (header) => {
    if (header === undefined || !header.startsWith("Bearer ")) return "missing";
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected) ? "ok" : "wrong";
  };
}

/** App tokens (`wpa_…`, derived from the admin token): schema/src/app-token.ts, shared with the provider. */
export { appToken } from "@warmpool/schema";

/** Who a request acts for: the admin (the agent's own token) or one App (an App token). */
export type Principal = { readonly kind: "admin" } | { readonly kind: "app"; readonly app: string };

export const ADMIN: Principal = { kind: "admin" };

/** Like TokenCheck, but an App token is accepted too and says which App it is for. */
export type PrincipalCheck = (header: string | undefined) => Principal | "missing" | "wrong";

export function principalCheck(adminToken: string): PrincipalCheck {
  const admin = bearerCheck(adminToken);
  return (header) => {
    const asAdmin = admin(header);
    if (asAdmin !== "wrong") return asAdmin === "ok" ? ADMIN : "missing";
    const claim = parseAppToken((header as string).slice("Bearer ".length));
    if (claim === undefined) return "wrong";
    return timingSafeEqual(claim.mac, appTokenMac(adminToken, claim.app)) ? { kind: "app", app: claim.app } : "wrong";
  };
}
