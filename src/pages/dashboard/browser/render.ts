/** The dashboard's numbers and audit trail, written as text from the admin API's answers. */
import type { AuditEntry, LaneStats, RoomStats } from "../../../contract/schemas.ts";
import { type LaneColumn, LANE_COLUMNS } from "../layout.ts";
import { $, clock, num, setText, shown } from "./dom.ts";

const ARROW = " \u2192 ";

/** One change of a setting as the audit trail and the confirmation say it: "field old → new". */
export function change(field: string, from: unknown, to: unknown): string {
  return field + " " + shown(from) + ARROW + shown(to);
}

export function renderStats(s: RoomStats): void {
  setText("stat-active", num(s.active));
  setText("stat-active-of", "of " + num(s.effectiveCapacity) + " in force");
  setText("stat-capacity", num(s.capacity));
  setText("stat-effective", num(s.effectiveCapacity));
  setText("stat-queued", num(s.queued));
  setText("stat-called", s.called ? num(s.called) + " called" : "");
  setText("stat-admissions", num(s.admissionsPerMinute));
  setText("stat-admit-limit", "limit " + num(s.effectiveAdmitPerMinute));
  setText("stat-arrivals", num(s.arrivalsPerMinute));
  setText("stat-mode", s.mode);
  setText("stat-origin", s.origin ? s.origin.factor.toFixed(2) : "–");
  setText("stat-distress", s.origin ? s.origin.distress + " distress" : "");
  setText("stat-peak", num(s.peakConcurrent));
  setText("stat-peak-at", s.peakAt ? "at " + clock(s.peakAt) : "");
  const ch = s.challenge;
  setText("stat-solved", ch && (ch.bits > 0 || ch.issued > 0) ? num(ch.solved) : "off");
  setText(
    "stat-challenges",
    ch ? num(ch.issued) + " issued, " + num(ch.failed) + " refused, " + num(ch.limited) + " limited" : "",
  );
  // Direct mode: the origin's own API as the shards used it (absent: none used it).
  const oa = s.originAdmin;
  setText("stat-direct", oa === undefined ? "–" : oa.lastFailure === null ? "ok" : oa.lastFailure.kind);
  setText(
    "stat-direct-note",
    oa === undefined
      ? ""
      : num(oa.kills) +
          " dropped, " +
          num(oa.failures) +
          " failed" +
          (oa.lastFailure === null ? "" : " (last: " + oa.lastFailure.message + ")"),
  );
  const meter = $<HTMLMeterElement>("stat-fill");
  meter.max = Math.max(1, s.effectiveCapacity);
  meter.value = Math.min(s.active, meter.max);
}

/** Seconds as the lanes table shows a wait ("–" before anyone was admitted). */
function seconds(v: number | null): string {
  return v === null ? "\u2013" : num(v) + " s";
}

/** One cell of a line's row. */
function laneCell(l: LaneStats, show: LaneColumn["show"]): string {
  switch (show) {
    case "lane":
      return l.lane;
    case "cap":
      return l.cap === null ? "none" : num(l.cap);
    case "waits":
      return seconds(l.waitP50Seconds) + " / " + seconds(l.waitP90Seconds);
    case "rule":
      return l.strict === null ? "\u2013" : l.strict ? "strict" : "share " + Math.round((l.share ?? 0) * 100) + "%";
    case "admissionsPerMinute":
      return l.admissionsPerMinute === null ? "\u2013" : num(l.admissionsPerMinute);
    default:
      return num(l[show]);
  }
}

/** Each line: general first, then the lanes in rank order (the order the stats give). */
export function renderLanes(lanes: LaneStats[] | undefined): void {
  const lines = lanes ?? [];
  const rows = lines.map((l) => {
    const tr = document.createElement("tr");
    LANE_COLUMNS.forEach((col) => {
      const td = document.createElement(col.show === "lane" ? "th" : "td");
      if (col.show === "lane") td.setAttribute("scope", "row");
      else if (col.show !== "rule") td.className = "n";
      td.textContent = laneCell(l, col.show);
      tr.append(td);
    });
    return tr;
  });
  $("lanes").replaceChildren(...rows);
  $("lanes-note").hidden = lines.length > 1;
}

/** The trail, newest first. */
export function renderAudit(entries: AuditEntry[]): void {
  const rows = entries
    .slice()
    .reverse()
    .map((e) => {
      const tr = document.createElement("tr");
      const changes = Object.keys(e.changes).map((k) => change(k, e.changes[k]!.from, e.changes[k]!.to));
      [new Date(e.at).toLocaleString(), e.by].forEach((text) => {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      });
      // One change a line: a change of lanes or identity settings is long JSON of its own.
      const td = document.createElement("td");
      changes.forEach((line, i) => {
        if (i > 0) td.append(document.createElement("br"));
        td.append(line);
      });
      tr.append(td);
      return tr;
    });
  $("audit").replaceChildren(...rows);
  $("audit-empty").hidden = rows.length > 0;
}
