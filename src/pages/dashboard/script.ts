/**
 * The dashboard's browser script, inlined into the page under its CSP nonce.
 *
 * Plain JavaScript for current browsers (no build step, no library): it
 * signs in, picks a room, refreshes the numbers, charts and audit trail every
 * few seconds, and applies changes after a confirmation. Why it is shaped so:
 * - the token lives in sessionStorage and in `Authorization` headers only, so
 *   it never reaches a URL, a log line, the page's markup or another tab;
 * - everything that came from the server is written with textContent or as
 *   SVG attributes built here, never parsed as markup;
 * - a 401 at any time signs out (the token was rotated), and a 403 on a change
 *   turns the controls off (a read-only token) with a plain message.
 */
import { CHART_HEIGHT, CHART_WIDTH, CHARTS, CONTROLS } from "./layout.ts";

/** Definitions the script shares with the page (see layout.ts). */
const LAYOUT = JSON.stringify({ charts: CHARTS, controls: CONTROLS, width: CHART_WIDTH, height: CHART_HEIGHT });

export const DASHBOARD_SCRIPT = `
(function () {
  "use strict";
  var LAYOUT = ${LAYOUT};
  var API = "/_spillway/admin";
  var TOKEN_KEY = "spillway-admin-token";
  var ROOM_KEY = "spillway-admin-room";
  var REFRESH_MS = 5000;
  var SVG = "http://www.w3.org/2000/svg";
  var PAD = { l: 46, r: 12, t: 12, b: 24 };
  var ARROW = " \\u2192 ";

  var token = sessionStorage.getItem(TOKEN_KEY);
  var room = "";
  var config = null;
  var baseline = {};
  var pending = null;
  var timer = 0;
  var generation = 0;
  var readOnly = false;

  function $(id) { return document.getElementById(id); }
  function setText(id, value) {
    var el = $(id);
    var text = value == null ? "" : String(value);
    if (el.textContent !== text) { el.textContent = text; el.classList.remove("changed"); void el.offsetWidth; el.classList.add("changed"); }
  }
  function message(id, text, tone) {
    var el = $(id);
    el.textContent = text || "";
    el.classList.toggle("bad", tone === "bad");
    el.classList.toggle("good", tone === "good");
  }
  function num(v) { return typeof v === "number" && isFinite(v) ? v.toLocaleString() : "–"; }
  function clock(t) { return new Date(t).toLocaleTimeString(); }
  function shown(v) { return v === null || v === undefined || v === "" ? "none" : String(v); }

  /** An admin API call with the token; throws {status, body} for any answer but 2xx. */
  function api(path, init) {
    init = init || {};
    var headers = { accept: "application/json", authorization: "Bearer " + token };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    return fetch(API + path, { method: init.method || "GET", body: init.body, headers: headers, cache: "no-store", credentials: "omit" })
      .then(function (res) {
        return res.text().then(function (text) {
          var body;
          try { body = text ? JSON.parse(text) : null; } catch { body = null; }
          if (!res.ok) throw { status: res.status, body: body };
          return body;
        });
      });
  }
  function explain(err) {
    if (err && err.status) {
      var e = err.body && err.body.error;
      return (e && e.message ? e.message : "The server answered " + err.status) + " (" + err.status + (e && e.code ? " " + e.code : "") + ")";
    }
    return err instanceof TypeError ? "Spillway could not be reached" : String(err);
  }

  /* ---------- signing in and out ---------- */

  function showSignedIn(on) {
    $("signin-panel").hidden = on;
    $("app").hidden = !on;
    $("signout").hidden = !on;
  }

  function signIn(event) {
    event.preventDefault();
    var input = $("token");
    var given = input.value.trim();
    if (!given) { message("signin-error", "Enter an admin token.", "bad"); input.focus(); return; }
    // A header can carry only printable ASCII: say so rather than fail to send it.
    if (!/^[\x21-\x7e]+$/.test(given)) { message("signin-error", "A token is printable ASCII without spaces: check what was pasted.", "bad"); input.select(); return; }
    $("signin-button").disabled = true;
    message("signin-error", "");
    token = given;
    api("/rooms").then(function (list) {
      input.value = "";
      sessionStorage.setItem(TOKEN_KEY, token);
      enter(list.rooms);
    }, function (err) {
      token = null;
      if (err.status === 401) message("signin-error", "That token was not accepted (401 unauthorized). Check it and try again.", "bad");
      else message("signin-error", "Could not sign in: " + explain(err) + ".", "bad");
      input.select();
    }).then(function () { $("signin-button").disabled = false; });
  }

  function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ROOM_KEY);
    token = null;
    chooseRoom("");
    $("room").replaceChildren(new Option("Choose a room\\u2026", ""));
    showSignedIn(false);
    message("signin-error", reason || "", reason ? "bad" : "");
    $("token").focus();
  }

  function enter(rooms) {
    setReadOnly(false);
    showSignedIn(true);
    fillRooms(rooms);
    var remembered = sessionStorage.getItem(ROOM_KEY);
    if (remembered && rooms.some(function (r) { return r.room === remembered; })) {
      $("room").value = remembered;
      chooseRoom(remembered);
    } else {
      $("room").focus();
    }
  }

  function fillRooms(rooms) {
    var select = $("room");
    var keep = select.value;
    var options = [new Option("Choose a room\\u2026", "")];
    rooms.forEach(function (r) { options.push(new Option(r.room, r.room)); });
    select.replaceChildren.apply(select, options);
    select.value = keep;
    message("status", rooms.length ? rooms.length + " room" + (rooms.length === 1 ? "" : "s") + " known." : "No room has been used yet.");
  }

  function reloadRooms() {
    api("/rooms").then(function (list) { fillRooms(list.rooms); }, failed);
  }

  /** A refused token signs out; anything else is shown and retried at the next refresh. */
  function failed(err) {
    if (err && err.status === 401) { signOut("The token was refused (401 unauthorized). Sign in again."); return; }
    message("app-error", "Could not refresh: " + explain(err) + ". Retrying.", "bad");
  }

  /* ---------- the chosen room ---------- */

  function chooseRoom(name) {
    clearTimeout(timer);
    generation++;
    room = name;
    config = null;
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

  function roomPath() { return "/rooms/" + encodeURIComponent(room); }

  function refresh() {
    clearTimeout(timer);
    if (!token || !room) return;
    var mine = ++generation;
    var base = roomPath();
    Promise.all([api(base + "/stats"), api(base + "/history"), api(base + "/audit?limit=20"), api(base)])
      .then(function (got) {
        if (mine !== generation) return;
        renderStats(got[0]);
        renderCharts(got[1].samples);
        renderAudit(got[2].entries);
        renderConfig(got[3].config);
        message("app-error", "");
        message("status", "Updated " + clock(Date.now()) + "; refreshing every " + REFRESH_MS / 1000 + " s.");
      }, function (err) { if (mine === generation) failed(err); })
      .then(function () {
        if (mine === generation && token && room && !document.hidden) timer = setTimeout(refresh, REFRESH_MS);
      });
  }

  function renderStats(s) {
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
    var ch = s.challenge;
    setText("stat-solved", ch && (ch.bits > 0 || ch.issued > 0) ? num(ch.solved) : "off");
    setText("stat-challenges", ch ? num(ch.issued) + " issued, " + num(ch.failed) + " refused, " + num(ch.limited) + " limited" : "");
    var meter = $("stat-fill");
    meter.max = Math.max(1, s.effectiveCapacity);
    meter.value = Math.min(s.active, meter.max);
  }

  /* ---------- charts: hand-made SVG ---------- */

  function svg(name, attrs, text) {
    var el = document.createElementNS(SVG, name);
    for (var k in attrs) el.setAttribute(k, String(attrs[k]));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  /** The smallest of 1, 2, 5 × 10^k at or above v: a scale top that reads well. */
  function niceTop(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function resetCharts() {
    LAYOUT.charts.forEach(function (chart) { drawChart(chart, []); });
  }

  function renderCharts(samples) {
    LAYOUT.charts.forEach(function (chart) { drawChart(chart, samples); });
  }

  function value(sample, key) {
    var v = Number(sample[key]);
    return isFinite(v) && v > 0 ? v : 0;
  }

  function drawChart(chart, samples) {
    var el = $(chart.id);
    var grid = el.querySelector(".grid");
    var plot = el.querySelector(".plot");
    var W = LAYOUT.width, H = LAYOUT.height;
    grid.replaceChildren();
    plot.replaceChildren();
    if (!samples.length) {
      plot.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No samples yet"));
      $(chart.id + "-d").textContent = "No samples yet.";
      return;
    }
    var times = samples.map(function (s) { return Date.parse(s.at); });
    var t1 = times[times.length - 1];
    // The span of the samples; a lone sample sits at the right end of a minute.
    var t0 = t1 > times[0] ? times[0] : t1 - 60000;
    var highest = 0;
    samples.forEach(function (s) { chart.series.forEach(function (d) { highest = Math.max(highest, value(s, d.key)); }); });
    var top = chart.max === null ? niceTop(highest) : chart.max;
    function x(t) { return PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r); }
    function y(v) { return H - PAD.b - (Math.min(v, top) / top) * (H - PAD.t - PAD.b); }
    [0, top / 2, top].forEach(function (v) {
      grid.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
      grid.append(svg("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end" }, num(v)));
    });
    grid.append(svg("text", { x: PAD.l, y: H - 6 }, clock(t0)));
    grid.append(svg("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, clock(t1)));
    var last = samples[samples.length - 1];
    chart.series.forEach(function (d) {
      var points = samples.map(function (s, i) { return x(times[i]).toFixed(1) + "," + y(value(s, d.key)).toFixed(1); });
      var line = svg("polyline", { class: "line " + d.cls, points: points.join(" "), "data-key": d.key });
      line.append(svg("title", {}, d.label));
      plot.append(line);
      plot.append(svg("circle", { class: "dot " + d.cls, cx: x(t1), cy: y(value(last, d.key)), r: 3 }));
    });
    $(chart.id + "-d").textContent =
      samples.length + " sample" + (samples.length === 1 ? "" : "s") + " from " + clock(t0) + " to " + clock(t1) + "; latest: " +
      chart.series.map(function (d) { return d.label + " " + num(last[d.key]); }).join(", ") + ".";
  }

  /* ---------- audit trail ---------- */

  function renderAudit(entries) {
    var rows = entries.slice().reverse().map(function (e) {
      var tr = document.createElement("tr");
      var changes = Object.keys(e.changes).map(function (k) { return k + " " + shown(e.changes[k].from) + ARROW + shown(e.changes[k].to); });
      [new Date(e.at).toLocaleString(), e.by, changes.join("; ")].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      });
      return tr;
    });
    $("audit").replaceChildren.apply($("audit"), rows);
    $("audit-empty").hidden = rows.length > 0;
  }

  /* ---------- controls ---------- */

  function input(field) { return $("f-" + field); }
  function asInput(v) { return v === null || v === undefined ? "" : String(v); }

  /** Fill each field the operator has not edited with the value in force; edited ones are left alone. */
  function renderConfig(c) {
    config = c;
    LAYOUT.controls.forEach(function (control) {
      var f = control.field, el = input(f), now = asInput(c[f]);
      setText("now-" + f, "now: " + shown(c[f]));
      if (baseline[f] === undefined || el.value === baseline[f]) { el.value = now; baseline[f] = now; }
    });
    $("review").disabled = readOnly;
  }

  /** What the operator typed, as the PATCH body wants it (a wrong entry goes as typed: the server says why). */
  function parsed(control, raw) {
    var text = raw.trim();
    if (control.kind === "mode") return text;
    if (control.kind === "url") return text === "" ? null : text;
    if (text === "") return null;
    var n = Number(text);
    return isFinite(n) ? n : text;
  }

  /** Another room (or none): no value of the last one may linger, and nothing can be sent before its settings arrive. */
  function clearControls() {
    LAYOUT.controls.forEach(function (control) {
      input(control.field).value = "";
      $("now-" + control.field).textContent = "";
    });
    clearFieldErrors();
    $("review").disabled = true;
  }

  function clearFieldErrors() {
    LAYOUT.controls.forEach(function (control) {
      $("err-" + control.field).textContent = "";
      input(control.field).removeAttribute("aria-invalid");
    });
  }

  function review(event) {
    event.preventDefault();
    clearFieldErrors();
    message("controls-msg", "");
    if (!config) { message("controls-msg", "The room's settings are still loading."); return; }
    var patch = {}, lines = [];
    LAYOUT.controls.forEach(function (control) {
      var f = control.field, raw = input(f).value;
      if (raw === baseline[f]) return;
      var next = parsed(control, raw);
      if (next === config[f]) return;
      patch[f] = next;
      lines.push(f + " " + shown(config[f]) + ARROW + shown(next));
    });
    if (!lines.length) { message("controls-msg", "Nothing to change: edit a field first."); return; }
    pending = { room: room, patch: patch, lines: lines };
    $("confirm-room").textContent = room;
    $("confirm-list").replaceChildren.apply($("confirm-list"), lines.map(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      return li;
    }));
    $("confirm").showModal();
    // Enter on the dialog's first focus cancels: applying takes a deliberate choice.
    $("confirm-cancel").focus();
  }

  function cancel() {
    pending = null;
    $("confirm").close();
    message("controls-msg", "Nothing was changed.");
  }

  function apply() {
    var change = pending;
    pending = null;
    $("confirm").close();
    if (!change || change.room !== room) return;
    $("review").disabled = true;
    message("controls-msg", "Applying\\u2026");
    api(roomPath(), { method: "PATCH", body: JSON.stringify(change.patch) }).then(function (state) {
      Object.keys(change.patch).forEach(function (f) { baseline[f] = undefined; });
      renderConfig(state.config);
      message("controls-msg", "Applied: " + change.lines.join("; ") + ".", "good");
      refresh();
    }, refused).then(function () { $("review").disabled = readOnly; });
  }

  /** A read-only token: the fields and the review button are turned off until someone signs in again. */
  function setReadOnly(on) {
    readOnly = on;
    LAYOUT.controls.forEach(function (control) { input(control.field).disabled = on; });
    $("review").disabled = on;
    $("revert").disabled = on;
  }

  function refused(err) {
    if (err.status === 401) { signOut("The token was refused (401 unauthorized). Sign in again."); return; }
    if (err.status === 403) {
      setReadOnly(true);
      message("controls-msg", "Refused: this token may read but not change anything (403 forbidden). Nothing was changed.", "bad");
      return;
    }
    var fields = (err.body && err.body.error && err.body.error.fields) || [];
    var unplaced = [];
    fields.forEach(function (fe) {
      var slot = $("err-" + fe.field);
      if (slot && input(fe.field)) {
        slot.textContent = fe.field + " " + fe.message;
        input(fe.field).setAttribute("aria-invalid", "true");
      } else unplaced.push(fe.field + " " + fe.message);
    });
    var first = fields.length && input(fields[0].field);
    if (first) first.focus();
    message("controls-msg", "Nothing was changed: " + (unplaced.length ? unplaced.join("; ") : explain(err)) + ".", "bad");
  }

  function revert(event) {
    event.preventDefault();
    baseline = {};
    clearFieldErrors();
    message("controls-msg", "");
    if (config) renderConfig(config);
  }

  /* ---------- wiring ---------- */

  $("signin").addEventListener("submit", signIn);
  $("signout").addEventListener("click", function () { signOut(""); });
  $("room").addEventListener("change", function (e) { chooseRoom(e.target.value); });
  $("reload").addEventListener("click", reloadRooms);
  $("controls").addEventListener("submit", review);
  $("controls").addEventListener("reset", revert);
  $("confirm-apply").addEventListener("click", apply);
  $("confirm-cancel").addEventListener("click", cancel);
  $("confirm").addEventListener("cancel", function () { pending = null; message("controls-msg", "Nothing was changed."); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh(); else clearTimeout(timer);
  });

  if (token) {
    api("/rooms").then(function (list) { enter(list.rooms); }, function (err) {
      if (err.status === 401) signOut("The saved token was refused (401 unauthorized). Sign in again.");
      else { showSignedIn(false); message("signin-error", "Could not reach Spillway: " + explain(err) + ".", "bad"); }
    });
  } else {
    $("token").focus();
  }
})();
`;
