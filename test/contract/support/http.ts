/** Small HTTP helpers for talking to a running Worker. */

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (read as T) when it is JSON, else undefined. */
  json: T;
}

/** The status JSON of the contract (the fields these tests read). */
export interface StatusJson {
  room: string;
  state: string;
  position: number | null;
  ahead: number | null;
  etaSeconds: number | null;
  pollAfterSeconds: number;
  ticket?: string;
  pass?: string;
  passExpiresAt?: string;
  startsAt?: string | null;
  recordingUrl?: string | null;
  offer?: { reason: string; canKeepPlace: boolean };
  overflowToken?: string;
}

export interface ErrorJson {
  error: { code: string; message: string };
}

export interface ConfigJson {
  room: string;
  config: { capacity: number; admitPerMinute: number; mode: string };
}

export interface StatsJson {
  room: string;
  active: number;
  capacity: number;
  admitPerMinute: number;
  effectiveCapacity: number;
  effectiveAdmitPerMinute: number;
  origin: { factor: number; distress: number };
  queued: number;
}

export async function send<T = unknown>(url: string, init: RequestInit = {}): Promise<Reply<T>> {
  const res = await fetch(url, { redirect: "manual", ...init });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as T };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The status JSON of a join (taking a new place in line). */
export async function join(base: string, room: string): Promise<Reply<StatusJson>> {
  return send<StatusJson>(`${base}/_spillway/rooms/${room}/join`, {
    method: "POST",
    headers: { accept: "application/json" },
  });
}

/** A waiting poll with `ticket` as the bearer: the status JSON (the seat's pass once its turn came). */
export async function statusJson(base: string, room: string, ticket: string): Promise<Reply<StatusJson>> {
  return send<StatusJson>(`${base}/_spillway/rooms/${room}/status`, {
    headers: { ...bearer(ticket), accept: "application/json" },
  });
}

/** Give the seat of `pass` back (as another device of its listener may): `released` says whether it was. */
export async function leaveWith(base: string, room: string, pass: string): Promise<Reply<{ released: boolean }>> {
  return send<{ released: boolean }>(`${base}/_spillway/rooms/${room}/leave`, {
    method: "POST",
    headers: bearer(pass),
  });
}

/** A heartbeat with `pass`: the status JSON, with the renewed pass of the same seat. */
export async function heartbeatWith(base: string, room: string, pass: string): Promise<Reply<StatusJson>> {
  return send<StatusJson>(`${base}/_spillway/rooms/${room}/heartbeat`, {
    method: "POST",
    headers: { ...bearer(pass), accept: "application/json" },
  });
}

/** Admin API call with a JSON body. */
export async function adminCall<T = unknown>(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...bearer(token) };
  let payload: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  return send<T>(`${base}/_spillway/admin${path}`, { method, headers, body: payload });
}

/** The claims of a JWT (read, not verified: a test only compares them). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}
