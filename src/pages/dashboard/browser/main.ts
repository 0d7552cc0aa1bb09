/**
 * The dashboard's browser script, bundled by ../../build.ts and inlined into
 * the page under its CSP nonce. It signs in, picks a room, refreshes the
 * numbers, charts and audit trail every few seconds, and applies changes
 * after a confirmation. Why it is shaped so:
 * - the token lives in sessionStorage and in `Authorization` headers only, so
 *   it never reaches a URL, a log line, the page's markup or another tab;
 * - everything that came from the server is written with textContent or as
 *   SVG attributes built here, never parsed as markup;
 * - a 401 at any time signs out (the token was rotated), and a 403 on a change
 *   turns the controls off (a read-only token) with a plain message.
 * The element ids, the charts' series and the controls come from ../layout.ts,
 * the same definitions the page is rendered from.
 */
import type { AuditTrail, ConfigState, RoomEntry, RoomList, RoomStats, Sample } from "../../../contract/schemas.ts";
import { type ControlDef, CONTROLS } from "../layout.ts";
import { api, type ApiError, type ApiInit, explain } from "./api.ts";
import { renderCharts, resetCharts } from "./charts.ts";
import { $, clock, message, setText, shown } from "./dom.ts";
import { change, renderAudit, renderLanes, renderStats } from "./render.ts";

type Field = ControlDef["field"];
type Config = ConfigState["config"];

const TOKEN_KEY = "spillway-admin-token";
const ROOM_KEY = "spillway-admin-room";
const REFRESH_MS = 5000;

let token = sessionStorage.getItem(TOKEN_KEY);
let room = "";
let config: Config | null = null;
/** The last answer of the room's config, to fill the fields in again on Revert. */
let answered: ConfigState | null = null;
/** Each field's value as last filled in from the server; a field that differs was edited by the operator. */
let baseline: Partial<Record<Field, string>> = {};
let pending: { room: string; patch: Partial<Record<Field, unknown>>; lines: string[] } | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let generation = 0;
let readOnly = false;

function call<T>(path: string, init?: ApiInit): Promise<T> {
  return api<T>(token, path, init);
}

/* ---------- signing in and out ---------- */

function showSignedIn(on: boolean): void {
  $("signin-panel").hidden = on;
  $("app").hidden = !on;
  $("signout").hidden = !on;
}

function signIn(event: Event): void {
  event.preventDefault();
  const input = $<HTMLInputElement>("token");
  const given = input.value.trim();
  if (!given) {
    message("signin-error", "Enter an admin token.", "bad");
    input.focus();
    return;
  }
  // A header can carry only printable ASCII: say so rather than fail to send it.
  if (!/^[\x21-\x7e]+$/.test(given)) {
    message("signin-error", "A token is printable ASCII without spaces: check what was pasted.", "bad");
    input.select();
    return;
  }
  $<HTMLButtonElement>("signin-button").disabled = true;
  message("signin-error", "");
  token = given;
  call<RoomList>("/rooms")
    .then(
      (list) => {
        input.value = "";
        sessionStorage.setItem(TOKEN_KEY, given);
        enter(list.rooms);
      },
      (err: ApiError) => {
        token = null;
        if (err.status === 401) {
          message("signin-error", "That token was not accepted (401 unauthorized). Check it and try again.", "bad");
        } else message("signin-error", "Could not sign in: " + explain(err) + ".", "bad");
        input.select();
      },
    )
    .then(() => {
      $<HTMLButtonElement>("signin-button").disabled = false;
    });
}

function signOut(reason: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ROOM_KEY);
  token = null;
  chooseRoom("");
  $("room").replaceChildren(new Option("Choose a room\u2026", ""));
  showSignedIn(false);
  message("signin-error", reason || "", reason ? "bad" : "");
  $("token").focus();
}

function enter(rooms: RoomEntry[]): void {
  setReadOnly(false);
  showSignedIn(true);
  fillRooms(rooms);
  const remembered = sessionStorage.getItem(ROOM_KEY);
  // The room last watched in this tab, or the only one there is: opened without asking.
  const open =
    remembered && rooms.some((r) => r.room === remembered) ? remembered : rooms.length === 1 ? rooms[0]!.room : "";
  if (open) {
    $<HTMLSelectElement>("room").value = open;
    chooseRoom(open);
  } else {
    $("room").focus();
  }
}

function fillRooms(rooms: RoomEntry[]): void {
  const select = $<HTMLSelectElement>("room");
  const keep = select.value;
  const options = [new Option("Choose a room\u2026", "")];
  rooms.forEach((r) => options.push(new Option(r.room, r.room)));
  select.replaceChildren(...options);
  select.value = keep;
  message(
    "status",
    rooms.length ? rooms.length + " room" + (rooms.length === 1 ? "" : "s") + " known." : "No room has been used yet.",
  );
}

function reloadRooms(): void {
  call<RoomList>("/rooms").then((list) => fillRooms(list.rooms), failed);
}

/** A refused token signs out; anything else is shown and retried at the next refresh. */
function failed(err: unknown): void {
  if (err && (err as ApiError).status === 401) {
    signOut("The token was refused (401 unauthorized). Sign in again.");
    return;
  }
  message("app-error", "Could not refresh: " + explain(err) + ". Retrying.", "bad");
}

/* ---------- the chosen room ---------- */

function chooseRoom(name: string): void {
  clearTimeout(timer);
  generation++;
  room = name;
  config = null;
  answered = null;
  baseline = {};
  clearControls();
  message("controls-msg", "");
  message("app-error", "");
  $("room-view").hidden = !name;
  if (!name) return;
  sessionStorage.setItem(ROOM_KEY, name);
  resetCharts();
  $("audit").replaceChildren();
  refresh();
}

function roomPath(): string {
  return "/rooms/" + encodeURIComponent(room);
}

function refresh(): void {
  clearTimeout(timer);
  if (!token || !room) return;
  const mine = ++generation;
  const base = roomPath();
  Promise.all([
    call<RoomStats>(base + "/stats"),
    call<{ samples: Sample[] }>(base + "/history"),
    call<AuditTrail>(base + "/audit?limit=20"),
    call<ConfigState>(base),
  ])
    .then(
      ([stats, history, audit, state]) => {
        if (mine !== generation) return;
        renderStats(stats);
        renderLanes(stats.lanes);
        renderCharts(history.samples);
        renderAudit(audit.entries);
        renderConfig(state);
        message("app-error", "");
        message("status", "Updated " + clock(Date.now()) + "; refreshing every " + REFRESH_MS / 1000 + " s.");
      },
      (err: unknown) => {
        if (mine === generation) failed(err);
      },
    )
    .then(() => {
      if (mine === generation && token && room && !document.hidden) timer = setTimeout(refresh, REFRESH_MS);
    });
}

/* ---------- controls ---------- */

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

function input(field: string): Control {
  return $<HTMLInputElement>("f-" + field);
}
/** The "none" box next to a colour input (a colour input always holds a colour). */
function noneBox(field: string): HTMLInputElement | null {
  return document.getElementById("none-" + field) as HTMLInputElement | null;
}

function pad(n: number): string {
  return (n < 10 ? "0" : "") + n;
}
/** An ISO 8601 moment as a datetime-local input shows it: the browser's local time, to the minute. */
function localTime(iso: string): string {
  const d = new Date(iso);
  if (!isFinite(d.getTime())) return "";
  return (
    d.getFullYear() +
    "-" +
    pad(d.getMonth() + 1) +
    "-" +
    pad(d.getDate()) +
    "T" +
    pad(d.getHours()) +
    ":" +
    pad(d.getMinutes())
  );
}

/** Show a value of the config in a control (a checkbox is checked, a colour may be none). */
function write(control: ControlDef, v: unknown): void {
  const el = input(control.field);
  if (control.kind === "flag") (el as HTMLInputElement).checked = v === true;
  else if (control.kind === "color") {
    noneBox(control.field)!.checked = v === null || v === undefined;
    el.value = typeof v === "string" && /^#[0-9a-f]{6}$/i.test(v) ? v : "#000000";
  } else if (control.kind === "time") el.value = typeof v === "string" ? localTime(v) : "";
  else if (control.kind === "json") el.value = v === null || v === undefined ? "" : JSON.stringify(v, null, 2);
  else el.value = v === null || v === undefined ? "" : String(v);
}

/** What a control holds, as text (compared with the baseline to see whether the operator edited it). */
function read(control: ControlDef): string {
  const el = input(control.field);
  if (control.kind === "flag") return String((el as HTMLInputElement).checked);
  if (control.kind === "color") return noneBox(control.field)!.checked ? "" : el.value;
  return el.value;
}

/** Fill each field the operator has not edited with the value in force; edited ones are left alone. */
function renderConfig(answer: ConfigState): void {
  const c = answer.config;
  config = c;
  answered = answer;
  CONTROLS.forEach((control) => {
    const f = control.field;
    const set = answer.overrides[f] !== undefined;
    setText("now-" + f, "now: " + shown(c[f]) + (set ? " (set for this room)" : " (default)"));
    if (baseline[f] === undefined || read(control) === baseline[f]) {
      write(control, c[f]);
      baseline[f] = read(control);
    }
  });
  $<HTMLButtonElement>("review").disabled = readOnly;
}

/** Text a `json` control holds that is not JSON: refused here, since it could only go as a string. */
class NotJson {
  constructor(readonly message: string) {}
}

/** What the operator entered, as the PATCH body wants it (a wrong entry goes as typed: the server says why). */
function parsed(control: ControlDef, raw: string): unknown {
  if (control.kind === "flag") return raw === "true";
  if (control.kind === "json") {
    if (raw.trim() === "") return null;
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      return new NotJson("is not valid JSON: " + (err instanceof Error ? err.message : String(err)));
    }
  }
  if (control.kind === "message") return raw.trim() === "" ? null : raw;
  const text = raw.trim();
  if (control.kind === "mode" || control.kind === "origin") return text;
  if (text === "") return control.nullable === true || control.kind === "number" ? null : text;
  if (control.kind === "time") {
    const d = new Date(text);
    return isFinite(d.getTime()) ? d.toISOString().replace(/\.000Z$/, "Z") : text;
  }
  if (control.kind !== "number") return text;
  const n = Number(text);
  return isFinite(n) ? n : text;
}

/** Another room (or none): no value of the last one may linger, and nothing can be sent before its settings arrive. */
function clearControls(): void {
  CONTROLS.forEach((control) => {
    write(control, null);
    $("now-" + control.field).textContent = "";
  });
  clearFieldErrors();
  $<HTMLButtonElement>("review").disabled = true;
}

function clearFieldErrors(): void {
  CONTROLS.forEach((control) => {
    $("err-" + control.field).textContent = "";
    input(control.field).removeAttribute("aria-invalid");
  });
}

function review(event: Event): void {
  event.preventDefault();
  clearFieldErrors();
  message("controls-msg", "");
  const current = config;
  if (!current) {
    message("controls-msg", "The room's settings are still loading.");
    return;
  }
  const patch: Partial<Record<Field, unknown>> = {};
  const lines: string[] = [];
  const notJson: Field[] = [];
  CONTROLS.forEach((control) => {
    const f = control.field;
    const raw = read(control);
    if (raw === baseline[f]) return;
    const next = parsed(control, raw);
    if (next instanceof NotJson) {
      fieldError(f, f + " " + next.message);
      notJson.push(f);
      return;
    }
    // Lanes and identity settings are objects: the same JSON is the same value (a lane's place is its rank).
    if (next === current[f] || (control.kind === "json" && JSON.stringify(next) === JSON.stringify(current[f]))) return;
    patch[f] = next;
    lines.push(change(f, current[f], next));
  });
  if (notJson.length) {
    $("f-" + notJson[0]!).focus();
    message("controls-msg", "Nothing was sent: " + notJson.join(", ") + " must be JSON (or empty for none).", "bad");
    return;
  }
  if (!lines.length) {
    message("controls-msg", "Nothing to change: edit a field first.");
    return;
  }
  pending = { room, patch, lines };
  $("confirm-room").textContent = room;
  $("confirm-list").replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }),
  );
  $<HTMLDialogElement>("confirm").showModal();
  // Enter on the dialog's first focus cancels: applying takes a deliberate choice.
  $("confirm-cancel").focus();
}

function cancel(): void {
  pending = null;
  $<HTMLDialogElement>("confirm").close();
  message("controls-msg", "Nothing was changed.");
}

function apply(): void {
  const chosen = pending;
  pending = null;
  $<HTMLDialogElement>("confirm").close();
  if (!chosen || chosen.room !== room) return;
  $<HTMLButtonElement>("review").disabled = true;
  message("controls-msg", "Applying\u2026");
  call<ConfigState>(roomPath(), { method: "PATCH", body: JSON.stringify(chosen.patch) })
    .then((state) => {
      Object.keys(chosen.patch).forEach((f) => (baseline[f as Field] = undefined));
      renderConfig(state);
      message("controls-msg", "Applied: " + chosen.lines.join("; ") + ".", "good");
      refresh();
    }, refused)
    .then(() => {
      $<HTMLButtonElement>("review").disabled = readOnly;
    });
}

/** A read-only token: the fields and the review button are turned off until someone signs in again. */
function setReadOnly(on: boolean): void {
  readOnly = on;
  CONTROLS.forEach((control) => {
    input(control.field).disabled = on;
    const none = noneBox(control.field);
    if (none) none.disabled = on;
  });
  $<HTMLButtonElement>("review").disabled = on;
  $<HTMLButtonElement>("revert").disabled = on;
}

function refused(err: ApiError): void {
  if (err.status === 401) {
    signOut("The token was refused (401 unauthorized). Sign in again.");
    return;
  }
  if (err.status === 403) {
    setReadOnly(true);
    message(
      "controls-msg",
      "Refused: this token may read but not change anything (403 forbidden). Nothing was changed.",
      "bad",
    );
    return;
  }
  const fields = (err.body && err.body.error && err.body.error.fields) || [];
  const unplaced: string[] = [];
  // A setting inside lanes or identity comes as a path ("lanes.stage.reserved"): shown at its field, path and all.
  const fieldOf = (path: string) => path.split(".")[0]!;
  fields.forEach((fe) => {
    if (!fieldError(fieldOf(fe.field), fe.field + " " + fe.message)) unplaced.push(fe.field + " " + fe.message);
  });
  const first = fields.length ? document.getElementById("f-" + fieldOf(fields[0]!.field)) : null;
  if (first) first.focus();
  message(
    "controls-msg",
    "Nothing was changed: " + (unplaced.length ? unplaced.join("; ") : explain(err)) + ".",
    "bad",
  );
}

/** A problem shown under its field (several for one field, one a line); false when the page has no such field. */
function fieldError(field: string, text: string): boolean {
  const slot = document.getElementById("err-" + field);
  if (!slot || !document.getElementById("f-" + field)) return false;
  if (slot.textContent) slot.append(document.createElement("br"));
  slot.append(text);
  input(field).setAttribute("aria-invalid", "true");
  return true;
}

function revert(event: Event): void {
  event.preventDefault();
  baseline = {};
  clearFieldErrors();
  message("controls-msg", "");
  if (answered) renderConfig(answered);
}

/* ---------- wiring ---------- */

$("signin").addEventListener("submit", signIn);
$("signout").addEventListener("click", () => signOut(""));
$("room").addEventListener("change", (e) => chooseRoom((e.target as HTMLSelectElement).value));
$("reload").addEventListener("click", reloadRooms);
$("controls").addEventListener("submit", review);
$("controls").addEventListener("reset", revert);
CONTROLS.forEach((control) => {
  // Picking a colour means "this colour", not "none".
  const none = noneBox(control.field);
  if (none) input(control.field).addEventListener("input", () => (none.checked = false));
});
$("confirm-apply").addEventListener("click", apply);
$("confirm-cancel").addEventListener("click", cancel);
$("confirm").addEventListener("cancel", () => {
  pending = null;
  message("controls-msg", "Nothing was changed.");
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refresh();
  else clearTimeout(timer);
});

if (token) {
  call<RoomList>("/rooms").then(
    (list) => enter(list.rooms),
    (err: ApiError) => {
      if (err.status === 401) signOut("The saved token was refused (401 unauthorized). Sign in again.");
      else {
        showSignedIn(false);
        message("signin-error", "Could not reach Spillway: " + explain(err) + ".", "bad");
      }
    },
  );
} else {
  $("token").focus();
}
