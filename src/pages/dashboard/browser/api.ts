/**
 * The dashboard script's calls to the admin API: the token goes in an
 * `Authorization` header only (never a URL or a cookie), and any answer but
 * a 2xx is thrown as an ApiError with its status and body.
 */
import type { ErrorBody } from "../../../contract/errors.ts";

const API = "/_spillway/admin";

/** A refused call: the answer's status and its body (an ErrorBody, or null when it had none). */
export interface ApiError {
  status: number;
  body: Partial<ErrorBody> | null;
}

export interface ApiInit {
  method?: string;
  body?: string;
}

/** An admin API call with the token; throws an ApiError for any answer but 2xx. */
export function api<T>(token: string | null, path: string, init: ApiInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", authorization: "Bearer " + token };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  return fetch(API + path, {
    method: init.method || "GET",
    body: init.body,
    headers,
    cache: "no-store",
    credentials: "omit",
  }).then((res) =>
    res.text().then((text) => {
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (!res.ok) throw { status: res.status, body: body as ApiError["body"] } satisfies ApiError;
      return body as T;
    }),
  );
}

/** A failure in words: the server's message and code, or why the server was not reached. */
export function explain(err: unknown): string {
  const failure = err as Partial<ApiError> | null | undefined;
  if (failure && failure.status) {
    const e = failure.body && failure.body.error;
    return (
      (e && e.message ? e.message : "The server answered " + failure.status) +
      " (" +
      failure.status +
      (e && e.code ? " " + e.code : "") +
      ")"
    );
  }
  return err instanceof TypeError ? "Spillway could not be reached" : String(err);
}
