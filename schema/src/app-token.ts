/**
 * Tokens scoped to one App, handed to that App's workers (their `WARMPOOL_TOKEN`) so that code in a
 * container can call the App's functions without ever seeing the admin token.
 *
 * `wpa_<HMAC-SHA256(admin token, app) in hex>_<app in base64url>`: derived, not stored, so every agent
 * that knows the admin token (a restarted one, a second replica) accepts the tokens the first one
 * handed out, and the provider derives the same token for an App's pods from the Runtime's `apiToken`
 * without anything new to keep in sync. A worker holding one cannot derive another App's (HMAC) nor
 * the admin token. Rotating the admin token rotates every App token with it.
 *
 * Here, in the contract, because the agent (which checks them) and the provider (which renders them
 * into each App's Secret) must derive them the same way.
 */
import { createHmac } from "node:crypto";

const APP_TOKEN = /^wpa_([0-9a-f]{64})_([A-Za-z0-9_-]{1,400})$/;

/** The MAC an App token carries for `app`. */
export function appTokenMac(adminToken: string, app: string): Buffer {
  return createHmac("sha256", adminToken).update(`warmpool app token\0${app}`).digest();
}

export function appToken(adminToken: string, app: string): string {
  return `wpa_${appTokenMac(adminToken, app).toString("hex")}_${Buffer.from(app, "utf8").toString("base64url")}`;
}

/** The App a token claims to be for and the MAC it carries, or undefined when it is not shaped like an App token. */
export function parseAppToken(token: string): { app: string; mac: Buffer } | undefined {
  const m = APP_TOKEN.exec(token);
  if (m === null) return undefined;
  return { app: Buffer.from(m[2] as string, "base64url").toString("utf8"), mac: Buffer.from(m[1] as string, "hex") };
}
