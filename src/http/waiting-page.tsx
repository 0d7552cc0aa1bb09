/**
 * The waiting page: a listener's place, the people ahead and an estimate,
 * refreshed by polling the status endpoint at `pollAfterSeconds`. Without
 * JavaScript it refreshes itself. When the turn comes it walks into the room.
 */
import { raw } from "hono/html";
import type { StatusBody } from "./status.ts";

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#16181d}
main{max-width:32rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}
.big{font-size:3rem;font-weight:700;margin:.25rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}
dt{color:#555}
.note{color:#555;font-size:.9rem}
.button{display:inline-block;padding:.6rem 1rem;border-radius:8px;background:#1f4fd1;color:#fff;text-decoration:none}
`;

const SCRIPT = `
(function(){
  var root=document.getElementById('spillway');
  var room=root.dataset.room, target=root.dataset.target, keep=root.dataset.keep==='1';
  var delay=Number(root.dataset.poll)||5;
  function fmt(s){ if(s==null) return 'unknown'; if(s<60) return 'under a minute'; var m=Math.round(s/60); return 'about '+m+' minute'+(m===1?'':'s'); }
  function text(id,v){ var e=document.getElementById(id); if(e) e.textContent=v; }
  function clock(s){ var h=Math.floor(s/3600), m=Math.floor(s%3600/60), x=s%60; return (h?h+':'+(m<10?'0':''):'')+m+':'+(x<10?'0':'')+x; }
  var left=null, tick=null;
  function countdown(s){
    left=s; text('eta',clock(left));
    if(tick===null) tick=setInterval(function(){ if(left>0){ left--; text('eta',clock(left)); } },1000);
  }
  function show(st){
    if(st.state==='admitted'){ text('state','It is your turn. Taking you in…'); location.replace(target); return false; }
    if((st.state==='overflow'||st.state==='closed')&&st.recordingUrl){ location.replace(st.recordingUrl); return false; }
    if(st.state!==root.dataset.state){ location.reload(); return false; }
    if(st.state==='queued'){
      text('position',st.position==null?'–':String(st.position));
      text('place',st.position==null?'–':String(st.position));
      text('ahead',st.ahead==null?'–':String(st.ahead));
      text('eta',fmt(st.etaSeconds));
    }
    if(st.state==='prequeue'&&st.etaSeconds!=null) countdown(st.etaSeconds);
    return true;
  }
  if(root.dataset.state==='prequeue'&&root.dataset.eta) countdown(Number(root.dataset.eta));
  var when=document.querySelector('time[datetime]');
  if(when&&when.getAttribute('datetime')) when.textContent=new Date(when.getAttribute('datetime')).toLocaleString();
  function poll(){
    fetch('/_spillway/rooms/'+encodeURIComponent(room)+'/status'+(keep?'?keep=1':''),{headers:{accept:'application/json'},credentials:'same-origin'})
      .then(function(r){ return r.json().then(function(b){ return {ok:r.ok, body:b}; }); })
      .then(function(res){
        if(!res.ok){ location.replace(target); return; }
        if(show(res.body)){ delay=res.body.pollAfterSeconds||delay; schedule(); }
      })
      .catch(function(){ delay=Math.min(delay*2,60); schedule(); });
  }
  function schedule(){ setTimeout(poll, delay*1000); }
  schedule();
})();
`;

function eta(seconds: number | null): string {
  if (seconds === null) return "unknown";
  if (seconds < 60) return "under a minute";
  const m = Math.round(seconds / 60);
  return `about ${m} minute${m === 1 ? "" : "s"}`;
}

/** The page's own URL with `?keep=1`: waiting in line over the recording offer. */
function keepUrl(target: string): string {
  const url = new URL(target, "http://x");
  url.searchParams.set("keep", "1");
  return url.pathname + url.search;
}

function Queued(props: { s: StatusBody }) {
  const s = props.s;
  return (
    <>
      <p id="state" aria-live="polite">
        The live room is full right now. You have a place in line.
      </p>
      <p class="big" id="position">
        {s.position ?? "–"}
      </p>
      <dl>
        <dt>Your place</dt>
        <dd id="place">{s.position ?? "–"}</dd>
        <dt>Listeners ahead of you</dt>
        <dd id="ahead">{s.ahead ?? "–"}</dd>
        <dt>Estimated wait</dt>
        <dd id="eta">{eta(s.etaSeconds)}</dd>
      </dl>
      <p class="note">Keep this page open; it takes you in when your turn comes.</p>
    </>
  );
}

function Prequeue(props: { s: StatusBody }) {
  const s = props.s;
  return (
    <>
      <p id="state" aria-live="polite">
        The event has not started yet. You have a place; the room opens at{" "}
        <time datetime={s.startsAt ?? ""}>{s.startsAt ?? "the start"}</time>.
      </p>
      <dl>
        <dt>Opens in</dt>
        <dd id="eta">{eta(s.etaSeconds)}</dd>
      </dl>
      <p class="note">Keep this page open; it takes you in when your turn comes.</p>
    </>
  );
}

/** The recording's link, or what happens until it is posted. */
function Recording(props: { url: string | null; pending: string }) {
  if (props.url === null) return <p class="note">{props.pending}</p>;
  return (
    <p>
      <a class="button" href={props.url}>
        Listen to the recording
      </a>
    </p>
  );
}

function Overflow(props: { s: StatusBody; target: string }) {
  const s = props.s;
  const canKeep = s.offer?.canKeepPlace === true;
  return (
    <>
      <p id="state" aria-live="polite">
        The live room is full.{" "}
        {canKeep
          ? `You can keep a place in line (${eta(s.etaSeconds)}) or get the recording when it is posted.`
          : "The line is full too: you can get the recording when it is posted."}
      </p>
      {canKeep ? (
        <p>
          <a class="button" href={keepUrl(props.target)}>
            Keep my place in line
          </a>
        </p>
      ) : null}
      <Recording
        url={s.recordingUrl}
        pending="Keep this page open: it takes you to the recording as soon as it is posted."
      />
    </>
  );
}

function Closed(props: { s: StatusBody }) {
  const s = props.s;
  return (
    <>
      <p id="state" aria-live="polite">
        This event is over.
      </p>
      <Recording url={s.recordingUrl} pending="The recording will be linked here once it is posted." />
    </>
  );
}

const TITLES: Record<StatusBody["state"], string> = {
  prequeue: "Starting soon",
  queued: "You are in line",
  admitted: "Taking you in",
  overflow: "The live room is full",
  closed: "The event is over",
};

export function WaitingPage(props: { status: StatusBody; target: string; keep: boolean }) {
  const s = props.status;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <noscript>
          <meta http-equiv="refresh" content={String(s.pollAfterSeconds)} />
        </noscript>
        <title>
          {TITLES[s.state]} · {s.room}
        </title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <main
          id="spillway"
          data-room={s.room}
          data-target={props.target}
          data-poll={String(s.pollAfterSeconds)}
          data-state={s.state}
          data-keep={props.keep ? "1" : "0"}
          data-eta={s.etaSeconds === null ? "" : String(s.etaSeconds)}
        >
          <h1>{s.room}</h1>
          {s.state === "prequeue" ? <Prequeue s={s} /> : null}
          {s.state === "queued" ? <Queued s={s} /> : null}
          {s.state === "overflow" ? <Overflow s={s} target={props.target} /> : null}
          {s.state === "closed" ? <Closed s={s} /> : null}
        </main>
        <script>{raw(SCRIPT)}</script>
      </body>
    </html>
  );
}
