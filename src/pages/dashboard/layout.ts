/**
 * What the dashboard shows and lets ops change, in one place: the page
 * (page.tsx) renders the skeleton from these, and the browser script
 * (browser/main.ts) imports the same definitions, so an element id or a
 * history field is named once.
 */

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

/** A room setting the dashboard can change, and the kind of input it takes. */
export interface ControlDef {
  /** The field of the PATCH body and of the room's config. */
  field: "capacity" | "admitPerMinute" | "mode" | "recordingUrl" | "challengeBits";
  label: string;
  /** seats, bits: whole number ≥ 0; rate: whole number ≥ 1; mode: one of the modes; url: a URL or empty for none. */
  kind: "seats" | "rate" | "mode" | "url" | "bits";
}

export const CONTROLS: ControlDef[] = [
  { field: "capacity", label: "Capacity (seats)", kind: "seats" },
  { field: "admitPerMinute", label: "Admissions per minute", kind: "rate" },
  { field: "mode", label: "Mode", kind: "mode" },
  { field: "recordingUrl", label: "Recording URL", kind: "url" },
  { field: "challengeBits", label: "Under attack: proof of work (bits, 0 off)", kind: "bits" },
];
