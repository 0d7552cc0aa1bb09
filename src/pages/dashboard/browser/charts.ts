/**
 * The dashboard's charts, drawn as SVG built here (attributes set one by
 * one, text as textContent: nothing from the server is parsed as markup),
 * with a text description of the latest values for screen readers.
 */
import type { Sample } from "../../../contract/schemas.ts";
import { CHART_HEIGHT, CHART_WIDTH, type ChartDef, CHARTS, type SeriesDef } from "../layout.ts";
import { $, clock, num } from "./dom.ts";

const SVG = "http://www.w3.org/2000/svg";
const PAD = { l: 46, r: 12, t: 12, b: 24 };

function svg(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, name);
  for (const k in attrs) el.setAttribute(k, String(attrs[k]));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The smallest of 1, 2, 5 × 10^k at or above v: a scale top that reads well. */
function niceTop(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const step of [1, 2, 5, 10]) if (step * p >= v) return step * p;
  return 10 * p;
}

/** A sample's value for a series, as a number to plot (nothing readable is 0). */
function value(sample: Sample, key: SeriesDef["key"]): number {
  const v = Number(sample[key]);
  return isFinite(v) && v > 0 ? v : 0;
}

function drawChart(chart: ChartDef, samples: Sample[]): void {
  const el = $(chart.id);
  const grid = el.querySelector(".grid")!;
  const plot = el.querySelector(".plot")!;
  const W = CHART_WIDTH;
  const H = CHART_HEIGHT;
  grid.replaceChildren();
  plot.replaceChildren();
  if (!samples.length) {
    plot.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No samples yet"));
    $(chart.id + "-d").textContent = "No samples yet.";
    return;
  }
  const times = samples.map((s) => Date.parse(s.at));
  const t1 = times[times.length - 1]!;
  // The span of the samples; a lone sample sits at the right end of a minute.
  const t0 = t1 > times[0]! ? times[0]! : t1 - 60000;
  let highest = 0;
  samples.forEach((s) => chart.series.forEach((d) => (highest = Math.max(highest, value(s, d.key)))));
  const top = chart.max === null ? niceTop(highest) : chart.max;
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (Math.min(v, top) / top) * (H - PAD.t - PAD.b);
  [0, top / 2, top].forEach((v) => {
    grid.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
    grid.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)));
  });
  grid.append(svg("text", { x: PAD.l, y: H - 6 }, clock(t0)));
  grid.append(svg("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, clock(t1)));
  const last = samples[samples.length - 1]!;
  chart.series.forEach((d) => {
    const points = samples.map((s, i) => x(times[i]!).toFixed(1) + "," + y(value(s, d.key)).toFixed(1));
    const line = svg("polyline", { class: "line " + d.cls, points: points.join(" "), "data-key": d.key });
    line.append(svg("title", {}, d.label));
    plot.append(line);
    plot.append(svg("circle", { class: "dot " + d.cls, cx: x(t1), cy: y(value(last, d.key)), r: 3 }));
  });
  $(chart.id + "-d").textContent =
    samples.length +
    " sample" +
    (samples.length === 1 ? "" : "s") +
    " from " +
    clock(t0) +
    " to " +
    clock(t1) +
    "; latest: " +
    chart.series.map((d) => d.label + " " + num(last[d.key])).join(", ") +
    ".";
}

/** Every chart, empty (another room was chosen). */
export function resetCharts(): void {
  CHARTS.forEach((chart) => drawChart(chart, []));
}

/** Every chart, from the room's history (oldest sample first). */
export function renderCharts(samples: Sample[]): void {
  CHARTS.forEach((chart) => drawChart(chart, samples));
}
