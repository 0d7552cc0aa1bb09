/**
 * A client of Icecast 2.4's admin API, for the two calls that enforce a seat
 * from outside: `listclients` (who Icecast is serving on a mount, by
 * connection id) and `killclient` (drop one connection now, e.g. when its
 * seat ends). Icecast answers `listener_remove` to the auth hook for a
 * killed listener as for one that hung up.
 *
 * Every call has a timeout, takes `fetch` injected (the global one by
 * default) and ends in a typed result: `unreachable` (no answer in time, or
 * no connection), `unauthorized` (wrong admin user or password),
 * `not_found` (no source on that mount, or no such client) or `error`
 * (anything else, including an answer that is not Icecast's). The admin
 * password goes only into the Authorization header: messages name the
 * server's origin and the mount, never a credential.
 *
 * What Icecast 2.4.4 answers (recorded from the real server; the unit tests
 * replay it): 401 `You need to authenticate` for wrong credentials; 400
 * `Source does not exist` for a mount no source feeds; 400 `Missing
 * parameter`; 200 XML `<iceresponse>` for killclient, whose `<return>` is 1
 * ("Client N removed") or 0 ("Client N not found"); 200 XML `<icestats>` for
 * listclients, one `<listener>` with an `<ID>` per connection. A killed
 * listener stays listed (and can be killed "again") until Icecast's next
 * write to it, well under a second on a live stream.
 */

/** Where the admin API is and how to reach it. */
export interface IcecastAdmin {
  /** Icecast's base URL, e.g. `http://127.0.0.1:8000` (no credentials in it). */
  url: string;
  /** The `<admin-user>` and `<admin-password>` of Icecast's config. */
  user: string;
  password: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** The whole exchange, answer body included (default `ADMIN_TIMEOUT_MS`). */
  timeoutMs?: number;
}

export const ADMIN_TIMEOUT_MS = 3_000;

export type AdminFailureKind = "unreachable" | "unauthorized" | "not_found" | "error";

/** Why an admin call failed; `message` is safe to log (it holds no credential). */
export interface AdminFailure {
  kind: AdminFailureKind;
  message: string;
  /** Icecast's HTTP status, when it answered. */
  status?: number;
}

export type AdminResult<T> = ({ ok: true } & T) | { ok: false; failure: AdminFailure };

const fail = (kind: AdminFailureKind, message: string, status?: number) => ({
  ok: false as const,
  failure: status === undefined ? { kind, message } : { kind, message, status },
});

/** Base64 of UTF-8 text, with the Workers runtime's `btoa`. */
function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Undo XML's five named entities and numeric references. */
function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_all, ref: string) => {
    const lower = ref.toLowerCase();
    if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith("#")) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[lower] ?? "";
  });
}

/** The text of the first `<name>…</name>` in `xml`, unescaped, or undefined. */
function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match === null ? undefined : unescapeXml(match[1]!);
}

type Answer = { status: number; text: string };

/** GET an admin path; the answer, or the failure that needs no reading of it. */
async function adminGet(
  admin: IcecastAdmin,
  path: string,
  what: string,
): Promise<{ ok: true; answer: Answer } | { ok: false; failure: AdminFailure }> {
  let base: URL;
  try {
    base = new URL(admin.url);
  } catch {
    return fail("error", `${what}: the admin URL is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    return fail("error", `${what}: the admin URL must be http or https`);
  }
  if (base.username !== "" || base.password !== "") {
    return fail("error", `${what}: the admin URL must not carry credentials (give user and password)`);
  }
  const origin = base.origin;
  const timeoutMs = admin.timeoutMs ?? ADMIN_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  const doFetch = admin.fetch ?? fetch;
  // The race holds the deadline even against a fetch that ignores its signal.
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new Error("timed out"));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const exchange = async (): Promise<Answer> => {
    const res = await doFetch(new URL(path, base).toString(), {
      method: "GET",
      headers: { authorization: `Basic ${base64(`${admin.user}:${admin.password}`)}`, accept: "text/xml" },
      signal,
    });
    return { status: res.status, text: await res.text() };
  };
  try {
    return { ok: true, answer: await Promise.race([exchange(), deadline]) };
  } catch (err) {
    if (signal.aborted)
      return fail("unreachable", `${what}: Icecast at ${origin} did not answer within ${timeoutMs} ms`);
    const name = err instanceof Error ? err.name : "error";
    return fail("unreachable", `${what}: could not reach Icecast at ${origin} (${name})`);
  } finally {
    signal.removeEventListener("abort", onAbort!);
    deadline.catch(() => undefined);
  }
}

/** The failure for an answer that is not a 200, per Icecast's statuses. */
function statusFailure(answer: Answer, what: string, mount: string): AdminFailure {
  const { status, text } = answer;
  if (status === 401 || status === 403) {
    return { kind: "unauthorized", message: `${what}: Icecast refused the admin user or password`, status };
  }
  if (status === 404 || (status === 400 && text.includes("Source does not exist"))) {
    return { kind: "not_found", message: `${what}: no source feeds ${mount}`, status };
  }
  return { kind: "error", message: `${what}: Icecast answered ${status}`, status };
}

const checkMount = (mount: string) => mount.startsWith("/") && !/[\s?#]/.test(mount);
const checkId = (id: string) => /^[0-9]{1,20}$/.test(id);

/** Drop one listener now (`/admin/killclient`). `not_found` when the mount has no source or no such client. */
export async function killClient(
  request: IcecastAdmin & { mount: string; id: string },
): Promise<AdminResult<{ message: string }>> {
  const { mount, id } = request;
  const what = `killclient ${id} on ${mount}`;
  if (!checkMount(mount)) return fail("error", `killclient: ${JSON.stringify(mount)} is not a mount path`);
  if (!checkId(id)) return fail("error", `killclient: ${JSON.stringify(id)} is not an Icecast client id`);
  const got = await adminGet(
    request,
    `/admin/killclient?mount=${encodeURIComponent(mount)}&id=${encodeURIComponent(id)}`,
    what,
  );
  if (!got.ok) return got;
  const { answer } = got;
  if (answer.status !== 200) return { ok: false, failure: statusFailure(answer, what, mount) };
  const returned = element(answer.text, "return");
  const message = element(answer.text, "message") ?? "";
  if (returned === "1") return { ok: true, message };
  if (returned === "0") return fail("not_found", `${what}: Icecast has no such client (${message})`, 200);
  return fail("error", `${what}: the answer is not Icecast's <iceresponse>`, 200);
}

/** The connection ids Icecast serves on `mount` (`/admin/listclients`). `not_found` when no source feeds it. */
export async function listClients(request: IcecastAdmin & { mount: string }): Promise<AdminResult<{ ids: string[] }>> {
  const { mount } = request;
  const what = `listclients on ${mount}`;
  if (!checkMount(mount)) return fail("error", `listclients: ${JSON.stringify(mount)} is not a mount path`);
  const got = await adminGet(request, `/admin/listclients?mount=${encodeURIComponent(mount)}`, what);
  if (!got.ok) return got;
  const { answer } = got;
  if (answer.status !== 200) return { ok: false, failure: statusFailure(answer, what, mount) };
  return parseListClients(answer.text, mount);
}

/** The ids in a listclients answer, checked to be of `mount`'s source. */
export function parseListClients(xml: string, mount: string): AdminResult<{ ids: string[] }> {
  const what = `listclients on ${mount}`;
  const source = /<source mount="([^"]*)">([\s\S]*?)<\/source>/.exec(xml);
  if (!/<icestats>/.test(xml) || source === null) {
    return fail("error", `${what}: the answer is not Icecast's <icestats> with a <source>`, 200);
  }
  if (unescapeXml(source[1]!) !== mount) return fail("error", `${what}: the answer lists another mount`, 200);
  const ids: string[] = [];
  for (const [, block] of source[2]!.matchAll(/<listener>([\s\S]*?)<\/listener>/g)) {
    const id = element(block!, "ID");
    if (id === undefined || !checkId(id)) return fail("error", `${what}: a listener without a numeric <ID>`, 200);
    ids.push(id);
  }
  return { ok: true, ids };
}
