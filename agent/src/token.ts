/**
 * The API token: generated on first start (32 random bytes, hex), stored in `<stateDir>/token` with
 * mode 0600, and read back on later starts. The caller prints it once, when it was created; it is never
 * logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

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

/**
 * Tokens scoped to one App, handed to that App's workers (their `WARMPOOL_TOKEN`) so that code in a
 * container can call the App's functions without ever seeing the admin token.
 *
 * `wpa_<HMAC-SHA256(admin token, app) in hex>_<app in base64url>`: derived, not stored, so every agent
 * that knows the admin token (a restarted one, a second replica) accepts the tokens the first one
 * handed out, and nothing new has to be kept secret on disk. A worker holding one cannot derive
 * another App's (HMAC) nor the admin token. Rotating the admin token rotates every App token with it.
 */
const APP_TOKEN = /^wpa_([0-9a-f]{64})_([A-Za-z0-9_-]{1,400})$/;

function appMac(adminToken: string, app: string): Buffer {
  return createHmac("sha256", adminToken).update(`warmpool app token\0${app}`).digest();
}

export function appToken(adminToken: string, app: string): string {
  return `wpa_${appMac(adminToken, app).toString("hex")}_${Buffer.from(app, "utf8").toString("base64url")}`;
}

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
    const m = APP_TOKEN.exec((header as string).slice("Bearer ".length));
    if (m === null) return "wrong";
    const app = Buffer.from(m[2] as string, "base64url").toString("utf8");
    const given = Buffer.from(m[1] as string, "hex");
    return timingSafeEqual(given, appMac(adminToken, app)) ? { kind: "app", app } : "wrong";
  };
}
