/**
 * What the dashboard shows and lets ops change, in one place: the page
 * (page.tsx) renders the skeleton from these, and the browser script
 * (browser/main.ts) imports the same definitions, so an element id or a
 * history field is named once.
 */
import type { RoomConfigPatch } from "../../policy/config.ts";

/** One line of a chart: a field of a history sample. */
export interface SeriesDef {
  /** The field of `GET /_spillway/admin/rooms/:room/history` samples it plots. */
  key:
    | "live"
    | "capacity"
    | "effectiveCapacity"
    | "queued"
    | "overflowed"
    | "admissionsPerMinute"
    | "arrivalsPerMinute"
    | "originFactor";
  label: string;
  /** CSS class that gives the line its colour and dash pattern. */
  cls: string;
}

export interface ChartDef {
  /** The SVG element's id. */
  id: string;
  title: string;
  series: SeriesDef[];
  /** A fixed top of the scale (the origin factor is a share); null: from the data. */
  max: number | null;
}

export const CHART_WIDTH = 600;
export const CHART_HEIGHT = 190;

export const CHARTS: ChartDef[] = [
  {
    id: "chart-live",
    title: "Live listeners against capacity",
    series: [
      { key: "live", label: "Live", cls: "s-live" },
      { key: "capacity", label: "Capacity", cls: "s-cap" },
      { key: "effectiveCapacity", label: "Capacity in force", cls: "s-eff" },
    ],
    max: null,
  },
  {
    id: "chart-queue",
    title: "Queue length and overflow",
    series: [
      { key: "queued", label: "Queued", cls: "s-queue" },
      { key: "overflowed", label: "Offered the recording (total)", cls: "s-over" },
    ],
    max: null,
  },
  {
    id: "chart-rate",
    title: "Admissions per minute",
    series: [
      { key: "admissionsPerMinute", label: "Admissions / min", cls: "s-adm" },
      { key: "arrivalsPerMinute", label: "Arrivals / min", cls: "s-arr" },
    ],
    max: null,
  },
  {
    id: "chart-origin",
    title: "Origin health (share of the limits in force)",
    series: [{ key: "originFactor", label: "Origin factor", cls: "s-origin" }],
    max: 1,
  },
];

/**
 * The kind of input a setting takes: `number` a whole number (`min`); `mode`
 * and `origin` one of MODES or ORIGINS; `url` and `text` a line of text,
 * `message` a few lines; `color` a colour with a "none" box; `time` a local
 * date and time sent as UTC; `flag` a checkbox; `json` an object written as
 * JSON (lanes, identity), checked for JSON syntax in the browser and for
 * everything else by the server, empty meaning null.
 */
export type ControlKind =
  "number" | "mode" | "origin" | "url" | "text" | "message" | "color" | "time" | "flag" | "json";

/** A room setting the dashboard can change, and the kind of input it takes. */
export interface ControlDef {
  /** The field of the PATCH body and of the room's config. */
  field: keyof RoomConfigPatch;
  label: string;
  kind: ControlKind;
  /** The smallest whole number a `number` takes. */
  min?: number;
  /** An empty input means null (the field has no value). */
  nullable?: boolean;
  /** A short help text under the input. */
  hint?: string;
}

/** The settings, grouped as the page shows them (one fieldset each). */
export interface ControlGroup {
  id: string;
  legend: string;
  controls: ControlDef[];
}

export const CONTROL_GROUPS: ControlGroup[] = [
  {
    id: "admission",
    legend: "Admission",
    controls: [
      { field: "capacity", label: "Capacity (seats)", kind: "number", min: 0 },
      { field: "admitPerMinute", label: "Admissions per minute", kind: "number", min: 1 },
      { field: "mode", label: "Mode", kind: "mode" },
      { field: "shards", label: "Shards", kind: "number", min: 1 },
    ],
  },
  {
    id: "waiting",
    legend: "Waiting",
    controls: [
      {
        field: "maxWaitSeconds",
        label: "Longest wait (seconds)",
        kind: "number",
        min: 1,
        nullable: true,
        hint: "Empty: no limit.",
      },
      {
        field: "maxQueue",
        label: "Longest line (places)",
        kind: "number",
        min: 0,
        nullable: true,
        hint: "Empty: no limit.",
      },
      {
        field: "startsAt",
        label: "Starts at (your local time)",
        kind: "time",
        nullable: true,
        hint: "Sent as UTC. Empty: no start time.",
      },
      { field: "shuffleAtStart", label: "Shuffle the line at the start", kind: "flag" },
      {
        field: "recordingUrl",
        label: "Recording URL",
        kind: "url",
        nullable: true,
        hint: "http or https. Empty: none.",
      },
    ],
  },
  {
    id: "branding",
    legend: "Branding",
    controls: [
      { field: "title", label: "Title", kind: "text", nullable: true, hint: "Empty: the room id." },
      { field: "logoUrl", label: "Logo URL", kind: "url", nullable: true, hint: "https only. Empty: none." },
      { field: "accentColor", label: "Accent colour", kind: "color", nullable: true },
      { field: "message", label: "Message from the hosts", kind: "message", nullable: true, hint: "Empty: none." },
    ],
  },
  {
    id: "protection",
    legend: "Protection",
    controls: [{ field: "challengeBits", label: "Under attack: proof of work (bits, 0 off)", kind: "number", min: 0 }],
  },
  {
    id: "origin",
    legend: "Origin",
    controls: [
      { field: "origin", label: "Origin", kind: "origin" },
      {
        field: "originRoom",
        label: "Room at the origin",
        kind: "text",
        nullable: true,
        hint: "Direct mode. Empty: the room id.",
      },
      {
        field: "liveMounts",
        label: "Live mounts (JSON list)",
        kind: "json",
        nullable: true,
        hint: 'Paths under the room, held as a listener\'s one live stream from the first request, e.g. ["stream.mp3", "low.mp3"]. Empty: none named.',
      },
    ],
  },
  {
    id: "lanes",
    legend: "Lanes",
    controls: [
      {
        field: "lanes",
        label: "Lanes (JSON, first outranks the rest)",
        kind: "json",
        nullable: true,
        hint: 'E.g. {"stage": {"reserved": 20}, "priority": {"share": 0.3}}. Empty: none. See docs/lanes.md.',
      },
      {
        field: "identity",
        label: "Identity tokens (JSON)",
        kind: "json",
        nullable: true,
        hint: "issuer, audience, keys, lanes (rules). Empty: tokens are not read.",
      },
      { field: "inviteOnly", label: "Invite only: admit lane listeners only", kind: "flag" },
    ],
  },
];

/** Every setting, in the page's order. */
export const CONTROLS: ControlDef[] = CONTROL_GROUPS.flatMap((group) => group.controls);

/** A column of the lanes table: its heading, and what it shows of a line (general or a lane). */
export interface LaneColumn {
  label: string;
  /** The fields of the stats' `lanes` entries the column shows. */
  show: "lane" | "live" | "reserved" | "cap" | "queued" | "admittedTotal" | "waits" | "rule" | "admissionsPerMinute";
}

export const LANE_COLUMNS: LaneColumn[] = [
  { label: "Line", show: "lane" },
  { label: "Live", show: "live" },
  { label: "Reserved", show: "reserved" },
  { label: "Cap", show: "cap" },
  { label: "Queued", show: "queued" },
  { label: "Admitted", show: "admittedTotal" },
  { label: "Wait p50 / p90", show: "waits" },
  { label: "Priority", show: "rule" },
  { label: "Admissions / min", show: "admissionsPerMinute" },
];
