/**
 * The ops dashboard at /_spillway/admin/: an empty page shell whose script
 * signs in with an admin token and then reads and changes rooms through the
 * admin API, like any other client of it.
 *
 * The shell holds no data and no secret, so it is served without a token;
 * every number it shows comes from a token-protected endpoint. The token is
 * kept in the tab's sessionStorage only and sent as `Authorization: Bearer`:
 * never in a URL, a cookie or the page's HTML. A strict Content-Security-Policy
 * with a fresh nonce per response allows the page's own inline script and
 * style and nothing else (no other origin, no inline handlers or styles).
 * Operator text (room names, recording URLs) is only ever set as text.
 */
import type { Context } from "hono";
import { raw } from "hono/html";
import { MODES, ORIGINS } from "../../policy/config.ts";
import { newNonce, pageHeaders, pagePolicy } from "../csp.ts";
import { DASHBOARD_SCRIPT } from "../generated/scripts.ts";
import {
  type ChartDef,
  CHARTS,
  CHART_HEIGHT,
  CHART_WIDTH,
  type ControlDef,
  CONTROL_GROUPS,
  LANE_COLUMNS,
} from "./layout.ts";

const STYLE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--ink:#16181d;--muted:#5b6270;--line:#d9dce3;--accent:#1f4fd1;--on-accent:#fff;--bad:#b42318;--good:#067647}
@media (prefers-color-scheme:dark){:root{--bg:#101318;--card:#1a1f27;--ink:#e8ebf0;--muted:#9aa3b2;--line:#2d3440;--accent:#7aa2ff;--on-accent:#0b1020;--bad:#ff8a80;--good:#5fd39a}}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:1rem;padding:.75rem 1.25rem;background:var(--card);border-bottom:1px solid var(--line)}
header h1{font-size:1.15rem;margin:0}header .sub{margin:0;color:var(--muted);flex:1}
main{max-width:76rem;margin:0 auto;padding:1rem 1.25rem 3rem}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem}
h2{font-size:1rem;margin:0 0 .75rem}
label{font-weight:600}
input,select,button,textarea{font:inherit;color:inherit}
input,select,textarea{padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);min-width:0}
button{padding:.45rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:var(--on-accent);cursor:pointer}
button.plain{background:transparent;color:var(--accent)}
button:disabled,input:disabled,select:disabled,textarea:disabled{opacity:.55;cursor:not-allowed}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem .75rem}
.signin{max-width:28rem}.signin input{width:100%;margin:.35rem 0 .75rem}
.note{color:var(--muted);font-size:.88rem;margin:.5rem 0 0}
.msg{margin:.5rem 0 0;min-height:1.2em}.bad{color:var(--bad)}.good{color:var(--good)}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(10.5rem,1fr));gap:.75rem;margin:0}
.stats div{border:1px solid var(--line);border-radius:8px;padding:.5rem .75rem}
.stats dt{color:var(--muted);font-size:.82rem}.stats dd{margin:0;font-size:1.35rem;font-weight:650;font-variant-numeric:tabular-nums}
.stats dd small{font-size:.8rem;font-weight:400;color:var(--muted)}
meter{width:100%;height:.6rem;margin-top:.75rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(26rem,100%),1fr));gap:1rem 1.5rem}
figure{margin:0}figcaption{font-weight:600;margin-bottom:.25rem}
svg.chart{width:100%;height:auto;display:block;background:var(--bg);border-radius:6px}
.grid line{stroke:var(--line);stroke-width:1}
.grid text,.plot text{fill:var(--muted);font-size:12px}
.line{fill:none;stroke:var(--c);stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.dot{fill:var(--c)}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.35rem 0 0;font-size:.85rem;color:var(--muted)}
.key{display:inline-block;width:1.4rem;border-top:3px solid var(--c);vertical-align:middle;margin-right:.35rem}
.s-live{--c:#2563eb}.s-cap{--c:#16a34a}.s-eff{--c:#d97706}.s-queue{--c:#9333ea}.s-over{--c:#be185d}.s-adm{--c:#0891b2}.s-arr{--c:#64748b}.s-origin{--c:#dc2626}
.s-cap.line{stroke-dasharray:7 4}.s-eff.line{stroke-dasharray:2 3}.s-arr.line{stroke-dasharray:5 3}
.s-cap.key{border-top-style:dashed}.s-eff.key{border-top-style:dotted}.s-arr.key{border-top-style:dashed}
.controls{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.75rem 1rem}
.field{display:flex;flex-direction:column;gap:.25rem}
.field .now{color:var(--muted);font-size:.82rem;overflow-wrap:anywhere}
fieldset{border:1px solid var(--line);border-radius:8px;margin:0 0 .75rem;padding:.5rem .9rem .75rem}legend{font-weight:650;padding:0 .3rem}
.field.flag{flex-direction:row;flex-wrap:wrap;align-items:center}.field.flag .now,.field.flag .err{flex-basis:100%}
.field .none{font-weight:400;font-size:.88rem}input[type=color]{height:2.3rem;padding:.15rem}
.field .err{color:var(--bad);font-size:.85rem;min-height:1.1em;margin:0}
.field.json{grid-column:1/-1}.field.json textarea{font:.85rem/1.4 ui-monospace,monospace}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
[aria-invalid=true]{border-color:var(--bad)}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-top:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600;border-top:0}
dialog{border:1px solid var(--line);border-radius:10px;background:var(--card);color:var(--ink);max-width:34rem;padding:1.25rem}
dialog::backdrop{background:#0008}
dialog ul{padding-left:1.2rem}dialog li{overflow-wrap:anywhere;font-variant-numeric:tabular-nums}
[hidden]{display:none!important}
@media (prefers-reduced-motion:no-preference){.stats dd{transition:color .3s}.changed{animation:flash .8s ease-out}@keyframes flash{from{color:var(--accent)}}}
`;

/** Nothing but the page itself: its nonced script and style, images from this origin or inline, and calls back to this origin. */
export function contentSecurityPolicy(nonce: string): string {
  return pagePolicy(nonce, "'self' data:");
}

/** Headers of the page: never cached, never framed (by old browsers either), no referrer, no content sniffing. */
function dashboardHeaders(nonce: string): Record<string, string> {
  return {
    ...pageHeaders(contentSecurityPolicy(nonce)),
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
  };
}

/** Serve the dashboard's page shell (no token needed: it holds no data). */
export function dashboardPage(c: Context): Response | Promise<Response> {
  const nonce = newNonce();
  for (const [name, value] of Object.entries(dashboardHeaders(nonce))) c.header(name, value);
  return c.html(<DashboardPage nonce={nonce} />);
}

function SignIn() {
  return (
    <section id="signin-panel" class="signin" aria-labelledby="signin-title">
      <h2 id="signin-title">Sign in</h2>
      {/* No name on the input and no action: even without the script the token cannot be submitted into a URL. */}
      <form id="signin" novalidate>
        <label for="token">Admin token</label>
        <input id="token" type="password" autocomplete="off" spellcheck={false} required />
        <button type="submit" id="signin-button">
          Sign in
        </button>
        <p id="signin-error" class="msg bad" role="alert"></p>
      </form>
      <p class="note">
        The token stays in this browser tab only (session storage) and is sent as an Authorization header. Sign out to
        forget it.
      </p>
    </section>
  );
}

function Stat(props: { id: string; label: string; extra?: string }) {
  return (
    <div>
      <dt>{props.label}</dt>
      <dd>
        <span id={props.id}>–</span> {props.extra ? <small id={props.extra}></small> : null}
      </dd>
    </div>
  );
}

function Numbers() {
  return (
    <section aria-labelledby="numbers-title">
      <h2 id="numbers-title">Now</h2>
      <dl class="stats">
        <Stat id="stat-active" label="Live listeners" extra="stat-active-of" />
        <Stat id="stat-capacity" label="Capacity (configured)" />
        <Stat id="stat-effective" label="Capacity in force" />
        <Stat id="stat-queued" label="Queued" extra="stat-called" />
        <Stat id="stat-admissions" label="Admissions / min" extra="stat-admit-limit" />
        <Stat id="stat-arrivals" label="Arrivals / min" />
        <Stat id="stat-mode" label="Mode" />
        <Stat id="stat-origin" label="Origin factor" extra="stat-distress" />
        <Stat id="stat-direct" label="Origin's own API (direct mode)" extra="stat-direct-note" />
        <Stat id="stat-peak" label="Peak live" extra="stat-peak-at" />
        <Stat id="stat-solved" label="Challenges solved" extra="stat-challenges" />
      </dl>
      <meter id="stat-fill" min={0} max={1} value={0} aria-label="Live listeners against the capacity in force"></meter>
    </section>
  );
}

/** Each line's numbers: the general one, then the lanes in rank order (rows written by the script). */
function Lanes() {
  return (
    <section aria-labelledby="lanes-title">
      <h2 id="lanes-title">Lanes</h2>
      <table>
        <thead>
          <tr>
            {LANE_COLUMNS.map((col) => (
              <th scope="col" class={col.show === "lane" || col.show === "rule" ? undefined : "n"}>
                {col.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody id="lanes"></tbody>
      </table>
      <p id="lanes-note" class="note">
        No lanes: everyone is in the general line. Set them under Lanes below.
      </p>
    </section>
  );
}

function Chart(props: { chart: ChartDef }) {
  const { id, title, series } = props.chart;
  return (
    <figure>
      <figcaption id={`${id}-caption`}>{title}</figcaption>
      <svg
        id={id}
        class="chart"
        viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`}
        role="img"
        aria-labelledby={`${id}-t ${id}-d`}
      >
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>No samples yet.</desc>
        <g class="grid"></g>
        <g class="plot"></g>
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li>
            <span class={`key ${s.cls}`} aria-hidden="true"></span>
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function Input(props: { control: ControlDef; id: string; described: string }) {
  const { control, id, described } = props;
  switch (control.kind) {
    case "mode":
    case "origin":
      return (
        <select id={id} aria-describedby={described}>
          {(control.kind === "mode" ? MODES : ORIGINS).map((m) => (
            <option value={m}>{m}</option>
          ))}
        </select>
      );
    case "url":
      return <input id={id} type="url" inputmode="url" placeholder="https://…" aria-describedby={described} />;
    case "text":
      return <input id={id} type="text" spellcheck={false} aria-describedby={described} />;
    case "message":
      return <textarea id={id} rows={3} aria-describedby={described}></textarea>;
    case "json":
      return <textarea id={id} rows={6} spellcheck={false} aria-describedby={described}></textarea>;
    case "color":
      return <input id={id} type="color" aria-describedby={described} />;
    case "time":
      return <input id={id} type="datetime-local" step={60} aria-describedby={described} />;
    case "flag":
      return <input id={id} type="checkbox" aria-describedby={described} />;
    case "number":
      return <input id={id} type="number" min={control.min ?? 0} step={1} aria-describedby={described} />;
  }
}

function Field(props: { control: ControlDef }) {
  const { control } = props;
  const { field, label, kind, hint } = control;
  const id = `f-${field}`;
  const described = `now-${field}${hint ? ` hint-${field}` : ""} err-${field}`;
  return (
    <div class={kind === "flag" ? "field flag" : kind === "json" ? "field json" : "field"}>
      <label for={id}>{label}</label>
      <Input control={control} id={id} described={described} />
      {kind === "color" ? (
        <label class="none">
          <input id={`none-${field}`} type="checkbox" aria-describedby={`now-${field}`} /> None (the default colour)
        </label>
      ) : null}
      {hint ? (
        <span class="now" id={`hint-${field}`}>
          {hint}
        </span>
      ) : null}
      <span class="now" id={`now-${field}`}></span>
      <p class="err" id={`err-${field}`}></p>
    </div>
  );
}

function Controls() {
  return (
    <section aria-labelledby="controls-title">
      <h2 id="controls-title">Change the room</h2>
      <form id="controls" novalidate>
        {CONTROL_GROUPS.map((group) => (
          <fieldset id={`group-${group.id}`}>
            <legend>{group.legend}</legend>
            <div class="controls">
              {group.controls.map((control) => (
                <Field control={control} />
              ))}
            </div>
          </fieldset>
        ))}
        <div class="row">
          <button type="submit" id="review">
            Review change…
          </button>
          <button type="reset" id="revert" class="plain">
            Revert
          </button>
        </div>
        <p id="controls-msg" class="msg" role="status"></p>
      </form>
    </section>
  );
}

function Audit() {
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Recent changes</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">By</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody id="audit"></tbody>
      </table>
      <p id="audit-empty" class="note">
        No changes recorded yet.
      </p>
    </section>
  );
}

function Confirm() {
  return (
    <dialog id="confirm" aria-labelledby="confirm-title">
      <h2 id="confirm-title">Apply this change?</h2>
      <p>
        Room <strong id="confirm-room"></strong>:
      </p>
      <ul id="confirm-list"></ul>
      <div class="row">
        <button type="button" id="confirm-apply">
          Apply
        </button>
        <button type="button" id="confirm-cancel" class="plain">
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export function DashboardPage(props: { nonce: string }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          {/* No icon to fetch (CSP allows data: images). */}
          <link rel="icon" href="data:," />
          <title>Spillway · rooms dashboard</title>
          <style nonce={props.nonce}>{raw(STYLE)}</style>
        </head>
        <body>
          <header>
            <h1>Spillway</h1>
            <p class="sub">Rooms dashboard</p>
            <button type="button" id="signout" class="plain" hidden>
              Sign out
            </button>
          </header>
          <main>
            <noscript>
              <p class="msg bad">The dashboard needs JavaScript.</p>
            </noscript>
            <SignIn />
            <div id="app" hidden>
              <section aria-labelledby="room-label">
                <div class="row">
                  <label id="room-label" for="room">
                    Room
                  </label>
                  <select id="room">
                    <option value="">Choose a room…</option>
                  </select>
                  <button type="button" id="reload" class="plain">
                    Reload list
                  </button>
                </div>
                <p id="status" class="note"></p>
                <p id="app-error" class="msg bad" role="alert"></p>
              </section>
              <div id="room-view" hidden>
                <Numbers />
                <Lanes />
                <section aria-labelledby="charts-title">
                  <h2 id="charts-title">The last hour</h2>
                  <div class="charts">
                    {CHARTS.map((chart) => (
                      <Chart chart={chart} />
                    ))}
                  </div>
                  <p class="note">A sample every 10 s while the room is busy or watched, kept for an hour.</p>
                </section>
                <Controls />
                <Audit />
              </div>
            </div>
            <Confirm />
          </main>
          <script nonce={props.nonce}>{raw(DASHBOARD_SCRIPT)}</script>
        </body>
      </html>
    </>
  );
}
