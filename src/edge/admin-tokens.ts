/**
 * Who is calling the admin API. `ADMIN_TOKEN` is the token named "admin",
 * allowed to read and write; the optional secret `ADMIN_TOKENS` names more,
 * each read-only or read-write:
 *
 *   [{"name": "ops-alice", "token": "<at least 16 characters>", "access": "write"},
 *    {"name": "dashboard-tv", "token": "...", "access": "read"}]
 *
 * The name is what the audit trail records. Every configured token is
 * compared, in constant time, with the one presented, whichever matches.
 */
import * as v from "valibot";

export type Access = "read" | "write";

export interface AdminIdentity {
  name: string;
  access: Access;
}

interface NamedToken extends AdminIdentity {
  token: string;
}

const TokenListSchema = v.array(
  v.strictObject({
    name: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.@-]{1,64}$/, "a name of 1-64 letters, digits, _ . @ -")),
    token: v.pipe(v.string(), v.minLength(16, "at least 16 characters")),
    access: v.picklist(["read", "write"]),
  }),
);

/** The configured tokens; a malformed ADMIN_TOKENS is a deployment error (no token is trusted then). */
export function adminTokens(vars: { ADMIN_TOKEN?: string; ADMIN_TOKENS?: string }): NamedToken[] {
  const tokens: NamedToken[] = [];
  if (vars.ADMIN_TOKEN) tokens.push({ name: "admin", token: vars.ADMIN_TOKEN, access: "write" });
  if (vars.ADMIN_TOKENS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vars.ADMIN_TOKENS);
    } catch {
      throw new Error("ADMIN_TOKENS is not JSON");
    }
    const result = v.safeParse(TokenListSchema, parsed);
    if (!result.success) {
      throw new Error(
        `ADMIN_TOKENS is invalid: ${result.issues.map((i) => `${v.getDotPath(i)} ${i.message}`).join("; ")}`,
      );
    }
    tokens.push(...result.output);
  }
  return tokens;
}

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** A configured token as compared: its identity and the hash of its secret. */
interface PreparedToken extends AdminIdentity {
  digest: ArrayBuffer;
}

let prepared: { source: string; tokens: Promise<PreparedToken[]> } | null = null;

/** The configured tokens, parsed and hashed once per isolate (again only when the secrets change). */
export function preparedTokens(vars: { ADMIN_TOKEN?: string; ADMIN_TOKENS?: string }): Promise<PreparedToken[]> {
  const source = `${vars.ADMIN_TOKEN ?? ""}\u0000${vars.ADMIN_TOKENS ?? ""}`;
  if (prepared?.source !== source) {
    const tokens = Promise.all(
      adminTokens(vars).map(async (t) => ({ name: t.name, access: t.access, digest: await digest(t.token) })),
    );
    prepared = { source, tokens };
  }
  return prepared.tokens;
}

/** Whether a presented secret is the expected one: their hashes compared in constant time (lengths do not leak). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * The identity a presented token belongs to, or null. Hashes are compared
 * in constant time (so lengths do not leak either), and every token is
 * compared, match or not.
 */
export async function identify(given: string, tokens: PreparedToken[]): Promise<AdminIdentity | null> {
  const presented = await digest(given);
  let found: AdminIdentity | null = null;
  for (const t of tokens) {
    const same = crypto.subtle.timingSafeEqual(presented, t.digest);
    if (same && found === null) found = { name: t.name, access: t.access };
  }
  return found;
}
