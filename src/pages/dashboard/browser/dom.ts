/** The dashboard script's small helpers for the page: elements by id, text that flashes when it changes, plain formatting. */

export function $<E extends HTMLElement = HTMLElement>(id: string): E {
  return document.getElementById(id) as E;
}

/** Set an element's text; when it changed, flash it (the `changed` class restarts its animation). */
export function setText(id: string, value: unknown): void {
  const el = $(id);
  const text = value == null ? "" : String(value);
  if (el.textContent !== text) {
    el.textContent = text;
    el.classList.remove("changed");
    void el.offsetWidth;
    el.classList.add("changed");
  }
}

/** A message line, marked bad or good (or neither). */
export function message(id: string, text?: string, tone?: "bad" | "good" | ""): void {
  const el = $(id);
  el.textContent = text || "";
  el.classList.toggle("bad", tone === "bad");
  el.classList.toggle("good", tone === "good");
}

export function num(v: unknown): string {
  return typeof v === "number" && isFinite(v) ? v.toLocaleString() : "–";
}

export function clock(t: string | number): string {
  return new Date(t).toLocaleTimeString();
}

/** A setting's value as the audit trail and the confirmation show it: an object (lanes, identity) as its JSON. */
export function shown(v: unknown): string {
  if (v === null || v === undefined || v === "") return "none";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}
