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
`;

const SCRIPT = `
(function(){
  var root=document.getElementById('spillway');
  var room=root.dataset.room, target=root.dataset.target;
  var delay=Number(root.dataset.poll)||5;
  function fmt(s){ if(s==null) return 'unknown'; if(s<60) return 'under a minute'; var m=Math.round(s/60); return 'about '+m+' minute'+(m===1?'':'s'); }
  function show(st){
    var pos=document.getElementById('position'), ahead=document.getElementById('ahead'), eta=document.getElementById('eta'), state=document.getElementById('state');
    if(st.state==='admitted'){ state.textContent='It is your turn. Taking you in…'; location.replace(target); return false; }
    if(st.state==='closed'){ state.textContent='This event is over.'; return false; }
    pos.textContent=st.position==null?'–':String(st.position);
    ahead.textContent=st.ahead==null?'–':String(st.ahead);
    eta.textContent=fmt(st.etaSeconds);
    return true;
  }
  function poll(){
    fetch('/_spillway/rooms/'+encodeURIComponent(room)+'/status',{headers:{accept:'application/json'},credentials:'same-origin'})
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

export function WaitingPage(props: { status: StatusBody; target: string }) {
  const s = props.status;
  const closed = s.state === "closed";
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <noscript>
          <meta http-equiv="refresh" content={String(s.pollAfterSeconds)} />
        </noscript>
        <title>
          {closed ? "The event is over" : "You are in line"} · {s.room}
        </title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <main id="spillway" data-room={s.room} data-target={props.target} data-poll={String(s.pollAfterSeconds)}>
          <h1>{s.room}</h1>
          <p id="state" aria-live="polite">
            {closed ? "This event is over." : "The live room is full right now. You have a place in line."}
          </p>
          {closed ? null : (
            <>
              <p class="big" id="position">
                {s.position ?? "–"}
              </p>
              <dl>
                <dt>Your place</dt>
                <dd>{s.position ?? "–"}</dd>
                <dt>Listeners ahead of you</dt>
                <dd id="ahead">{s.ahead ?? "–"}</dd>
                <dt>Estimated wait</dt>
                <dd id="eta">{eta(s.etaSeconds)}</dd>
              </dl>
              <p class="note">Keep this page open; it takes you in when your turn comes.</p>
            </>
          )}
        </main>
        <script>{raw(SCRIPT)}</script>
      </body>
    </html>
  );
}
