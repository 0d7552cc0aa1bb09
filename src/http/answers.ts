/**
 * The desk's answers (FlowAnswer, edge/desk.ts) as HTTP: cookies for the
 * tokens it hands out, the status JSON or an error, and the headers that go
 * with them. When a Durable Object cannot be reached, the answer carries the
 * failure policy that applied (failure-policy.ts, docs/failure-policy.md);
 * here it becomes the `Spillway-Policy` and `Retry-After` headers.
 */
import type { Context } from "hono";
import type { ErrorCode } from "../contract/errors.ts";
import type { Degraded, FlowAnswer } from "../edge/desk.ts";
import { clock } from "../policy/clock.ts";
import { failureRetryAfter, POLICY_HEADER, type PolicyApplied } from "../policy/failure-policy.ts";
import { chooseLanguage } from "../pages/waiting/language.ts";
import { reconnectingPage } from "../pages/waiting/reconnecting.ts";
import { OWN_ANSWER_HEADERS } from "../pages/csp.ts";
import { reusableInit } from "./answer-init.ts";
import { clearTokenCookie, setTokenCookie } from "./cookies.ts";
import { fail } from "./fail.ts";
import type { AppEnv } from "./room-request.ts";

/** Cookies for what the flow handed out, then the answer as JSON. */
export function applyTokens(c: Context<AppEnv>, answer: FlowAnswer & { kind: "status" }): void {
  const { room, settings } = c.get("desk");
  if (answer.newTicket !== undefined) {
    setTokenCookie(c, "ticket", room, answer.newTicket, settings.timings.ticketTtlMs / 1000);
  }
  if (answer.newPass !== undefined) {
    setTokenCookie(c, "pass", room, answer.newPass.token, answer.newPass.exp - c.get("desk").now / 1000);
  }
  if (answer.newOverflow !== undefined) {
    setTokenCookie(c, "overflow", room, answer.newOverflow, settings.timings.ticketTtlMs / 1000);
  }
}

/**
 * Headers of every flow answer: never cached; a waiting listener is also
 * told when to poll again; an answer the failure policy made names it.
 */
function answerHeaders(answer: FlowAnswer): Record<string, string> {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (answer.kind === "status" && answer.status.state !== "admitted" && answer.status.state !== "closed") {
    headers["retry-after"] = String(answer.status.pollAfterSeconds);
  }
  if ((answer.kind === "status" || answer.kind === "unavailable") && answer.degraded !== undefined) {
    Object.assign(headers, degradedHeaders(answer.degraded));
  }
  return headers;
}

/** What an answer shaped by a failure carries: the policy, when to try again, never cached. */
function degradedHeaders(degraded: Degraded): Record<string, string> {
  return {
    "cache-control": "no-store",
    "retry-after": String(degraded.retryAfterSeconds),
    [POLICY_HEADER]: degraded.policy,
  };
}

/** 503 `unavailable`: a Durable Object could not be reached and nothing was done; try again after `Retry-After`. */
export function unavailable(c: Context, policy: PolicyApplied | null): Response {
  const retryAfterSeconds = failureRetryAfter(clock.random);
  const headers: Record<string, string> =
    policy === null
      ? { "cache-control": "no-store", "retry-after": String(retryAfterSeconds) }
      : degradedHeaders({ policy, retryAfterSeconds });
  return fail(c, "unavailable", undefined, headers);
}

/** The page a browser gets while the room's state cannot be reached (waiting/reconnecting.ts). */
export function reconnecting(c: Context<AppEnv>, degraded: Degraded, waiting: boolean) {
  const language = chooseLanguage(c.req.query("lang"), c.req.header("accept-language"));
  return reconnectingPage(c, {
    seconds: degraded.retryAfterSeconds,
    waiting,
    language,
    headers: degradedHeaders(degraded),
  });
}

/** Any flow answer as JSON: the status (with its cookies), or the error it stands for. */
export function answerJson(c: Context<AppEnv>, answer: FlowAnswer): Response {
  for (const [name, value] of Object.entries(answerHeaders(answer))) c.header(name, value);
  switch (answer.kind) {
    case "status":
      applyTokens(c, answer);
      return c.json(answer.status);
    case "spent":
      clearTokenCookie(c, "ticket", c.get("desk").room);
      clearTokenCookie(c, "pass", c.get("desk").room);
      return fail(c, "seat_ended");
    case "seat_ended":
      clearTokenCookie(c, "pass", c.get("desk").room);
      return fail(c, "seat_ended", answer.reason === undefined ? undefined : { reason: answer.reason });
    case "unavailable":
      return fail(c, "unavailable");
    case "challenge":
      return fail(c, answer.code, { challenge: answer.challenge });
    case "limited":
      return fail(c, "too_many_joins", undefined, { "retry-after": String(answer.retryAfterSeconds) });
    case "identity_refused":
      return fail(c, "identity_refused", { identity: answer.reason });
  }
}

/** What the app's middleware adds to Spillway's own JSON, set here at once. */
const OWN_JSON = { ...OWN_ANSWER_HEADERS, "content-type": "application/json" };

/**
 * A status answer that sets no cookie (what a waiting poll gets) as one
 * Response, built without the Context: `c.header` and `c.json` build the
 * same headers through an extra Headers object that is then copied into the
 * Response, which doubles what building the answer costs in workerd. Null
 * for any other answer. Only for a route that sets no header before it
 * answers (answerJson keeps those).
 */
export function plainStatusJson(answer: FlowAnswer): Response | null {
  if (answer.kind !== "status") return null;
  if (answer.newTicket !== undefined || answer.newPass !== undefined || answer.newOverflow !== undefined) return null;
  return new Response(JSON.stringify(answer.status), statusInit(answer));
}

/** Most inits kept: those of no Retry-After and of Retry-After 1 to STATUS_INIT_SLOTS - 1 s. */
const STATUS_INIT_SLOTS = 64;
const STATUS_INITS = new Array<ResponseInit | undefined>(STATUS_INIT_SLOTS).fill(undefined);

/**
 * The init of a plain status answer. Those of an answer no failure shaped
 * differ only in Retry-After, so each is built once and reused
 * (answer-init.ts); an answer the failure policy shaped gets its own.
 */
function statusInit(answer: FlowAnswer & { kind: "status" }): ResponseInit {
  if (answer.degraded !== undefined) return { headers: { ...OWN_JSON, ...answerHeaders(answer) } };
  const { state, pollAfterSeconds } = answer.status;
  // Slot 0: no Retry-After; else the number itself, not its text, indexes a plain array:
  // no string made and nothing hashed a poll.
  const none = state === "admitted" || state === "closed";
  const slot = none ? 0 : pollAfterSeconds;
  const kept = Number.isInteger(slot) && slot < STATUS_INIT_SLOTS && (none || slot >= 1);
  let built = kept ? STATUS_INITS[slot] : undefined;
  if (built === undefined) {
    const headers = { ...OWN_JSON, ...answerHeaders(answer) };
    if (!kept) return { headers };
    STATUS_INITS[slot] = built = reusableInit(headers);
  }
  return built;
}

/** Refuse a bad token; a bad cookie is also cleared so that a reload starts afresh. */
export function refuseCookie(c: Context<AppEnv>, kind: "ticket" | "pass", code: ErrorCode): Response {
  clearTokenCookie(c, kind, c.get("desk").room);
  return fail(c, code);
}
