/**
 * The built-in demo room origin, used when ORIGIN_URL is unset.
 *
 * It behaves like a real origin: it trusts nothing but the `Spillway-Pass`
 * header, verified against the public JWKS alone, and shows the verified
 * claims. It plays the room's live sound, `/rooms/:room/live.wav` (an
 * endless WAV stream, generated as it plays: demo-audio.ts, demo-stream.ts).
 * The page keeps the seat by heartbeat and can give it back; when the sound
 * stops it asks whether the seat still holds, and either says why it ended
 * or reconnects.
 */
import { type Context, Hono } from "hono";
import { raw } from "hono/html";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify, type JWTPayload } from "jose";
import { PASS_TYP } from "../tokens/claims.ts";
import { liveIndex } from "./demo-audio.ts";
import { liveWavStream } from "./demo-stream.ts";
import { PASS_HEADER } from "../edge/proxy.ts";

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#101418;color:#eef}
main{max-width:36rem;margin:8vh auto;padding:2rem;background:#1b2129;border-radius:12px}
h1{margin:0 0 .5rem}.live{color:#ff5b5b;font-weight:700}
table{border-collapse:collapse;width:100%;margin:1rem 0}td{border-top:1px solid #333;padding:.3rem .5rem;font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
button{font:inherit;padding:.5rem 1rem;border-radius:8px;border:0;background:#3a7bfd;color:#fff;cursor:pointer}
button:disabled{background:#4a5260;cursor:default}
.player{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;margin:1rem 0}.player audio{flex:1;min-width:14rem}
#seat[data-state=ended]{color:#ffb4a8;font-weight:600}
`;

/**
 * The page's script. The seat: a heartbeat every `data-heartbeat` seconds;
 * an answer other than 2xx, 429 or 5xx ends it. The sound: the page tries to
 * play at once (a browser may refuse without a click: then the Play button).
 * When the sound errors, ends or stalls, a heartbeat tells a seat that ended
 * (shown in #seat, its reason in `data-reason`) from a glitch (the stream is
 * reloaded, after 1, 2, 4 … 15 s).
 */
export const DEMO_PAGE_SCRIPT = `
(function(){
  var root=document.getElementById('room');
  var room=root.dataset.room, every=Number(root.dataset.heartbeat)*1000;
  var status=document.getElementById('seat');
  var audio=document.getElementById('live'), play=document.getElementById('play'), note=document.getElementById('listen');
  var REASONS={
    left:'You or another of your devices left the room, or the room staff released your seat.',
    moved:'Your ticket was used on another device, which now holds the seat.',
    lapsed:'The seat lapsed: it was not renewed in time.'
  };
  var over=false, checking=false, retries=0, retryTimer=null;
  function post(path){ return fetch('/_spillway/rooms/'+encodeURIComponent(room)+'/'+path,{method:'POST',credentials:'same-origin',headers:{accept:'application/json'}}); }
  function stopAudio(){
    clearTimeout(retryTimer);
    audio.pause(); audio.removeAttribute('src'); audio.load();
    play.disabled=true; play.textContent='Play'; note.textContent='';
  }
  function ended(reason){
    if(over) return;
    over=true; clearInterval(timer); stopAudio();
    // The seat is no longer this page's: its Leave would end the seat another device now holds.
    document.getElementById('leave').disabled=true;
    var live=document.querySelector('.live'); if(live) live.textContent='Seat ended';
    status.dataset.state='ended';
    if(reason) status.dataset.reason=reason;
    status.textContent=['Your seat has ended.', REASONS[reason]||'', 'Reload to join again.'].filter(Boolean).join(' ');
  }
  /** One heartbeat: 'held', 'ended' or 'unknown' (no answer, or Spillway busy). */
  function beat(){
    return post('heartbeat').then(function(r){
      if(r.ok) return r.json().then(function(b){
        if(!over) status.textContent='Seat held until '+new Date(b.passExpiresAt).toLocaleTimeString();
        return 'held';
      });
      if(r.status===429||r.status>=500) return 'unknown';
      return r.json().catch(function(){ return null; }).then(function(b){
        var e=b&&b.error;
        ended(e&&e.code==='seat_ended'&&typeof e.reason==='string'?e.reason:null);
        return 'ended';
      });
    }).catch(function(){ return 'unknown'; });
  }
  var timer=setInterval(beat, every);

  function listen(){
    if(over) return;
    clearTimeout(retryTimer);
    audio.src=audio.dataset.src;
    var p=audio.play();
    if(p) p.catch(function(err){
      if(err&&err.name==='NotAllowedError'&&!over) note.textContent='Press Play to listen.';
    });
  }
  function trouble(){
    if(over||checking||!audio.getAttribute('src')) return;
    checking=true;
    beat().then(function(state){
      checking=false;
      if(state==='ended'||over) return;
      var wait=Math.min(15000, 1000*Math.pow(2, retries++));
      note.textContent='The sound stopped; reconnecting…';
      clearTimeout(retryTimer);
      retryTimer=setTimeout(listen, wait);
    });
  }
  ['error','ended','stalled'].forEach(function(type){ audio.addEventListener(type, trouble); });
  audio.addEventListener('playing', function(){ retries=0; note.textContent=''; play.disabled=true; play.textContent='Playing'; });
  audio.addEventListener('pause', function(){ play.disabled=over; play.textContent='Play'; });
  play.addEventListener('click', listen);
  listen();

  document.getElementById('leave').addEventListener('click', function(){
    clearInterval(timer); over=true; stopAudio();
    post('leave').then(function(){ status.dataset.state='left'; status.textContent='You left the room; your seat went to the next listener.'; });
  });
})();
`;

/** The live stream of a room's sound. */
const LIVE_PATH = "live.wav";
const liveUrl = (room: string) => `/rooms/${encodeURIComponent(room)}/${LIVE_PATH}`;

export interface DemoOptions {
  jwks: JSONWebKeySet;
  issuer: string;
  heartbeatSeconds: number;
  now: number;
}

function RoomPage(props: { room: string; claims: JWTPayload; heartbeatSeconds: number; path: string }) {
  const rows = Object.entries(props.claims);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Live · {props.room}</title>
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <main id="room" data-room={props.room} data-heartbeat={String(props.heartbeatSeconds)}>
          <p class="live">● LIVE</p>
          <h1>{props.room}</h1>
          <p>
            You are in the live room (demo origin). This page verified your admission pass with the public JWKS alone.
          </p>
          <p>
            Requested path: <code>{props.path}</code>
          </p>
          <table>
            <tbody>
              {rows.map(([k, v]) => (
                <tr>
                  <td>{k}</td>
                  <td>{typeof v === "string" ? v : JSON.stringify(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="player">
            <audio id="live" controls preload="none" data-src={liveUrl(props.room)} aria-label="The room, live"></audio>
            <button id="play" type="button">
              Play
            </button>
          </div>
          <p id="listen" aria-live="polite"></p>
          <p id="seat" aria-live="polite" data-state="held">
            Your seat is held while this page is open.
          </p>
          <button id="leave" type="button">
            Leave the room
          </button>
        </main>
        <script>{raw(DEMO_PAGE_SCRIPT)}</script>
      </body>
    </html>
  );
}

const demo = new Hono<{ Bindings: DemoOptions }>();

type DemoContext = Context<{ Bindings: DemoOptions }>;

/** The claims of the request's pass, or the answer refusing it. */
async function verifiedPass(c: DemoContext): Promise<JWTPayload | Response> {
  const opts = c.env;
  const token = c.req.header(PASS_HEADER);
  if (token === undefined) return c.text("no admission pass", 401);
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(opts.jwks), {
      algorithms: ["ES256"],
      typ: PASS_TYP,
      issuer: opts.issuer,
      audience: c.req.param("room"),
      currentDate: new Date(opts.now),
    });
    return payload;
  } catch {
    return c.text("admission pass refused", 403);
  }
}

demo.get(`/rooms/:room/${LIVE_PATH}`, async (c) => {
  const claims = await verifiedPass(c);
  if (claims instanceof Response) return claims;
  // Everyone hears the same moment of the room; the stream is paced by the real clock.
  return new Response(liveWavStream({ roomIndex: liveIndex(c.env.now) }), {
    headers: {
      "content-type": "audio/wav",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
});

demo.all("/rooms/:room/*", async (c) => {
  const opts = c.env;
  const room = c.req.param("room");
  const claims = await verifiedPass(c);
  if (claims instanceof Response) return claims;
  if (c.req.header("accept")?.includes("application/json")) {
    return c.json({ room, live: true, claims });
  }
  return c.html(
    <RoomPage
      room={room}
      claims={claims}
      heartbeatSeconds={opts.heartbeatSeconds}
      path={new URL(c.req.url).pathname}
    />,
  );
});

demo.all("/rooms/:room", (c) => c.redirect(`/rooms/${c.req.param("room")}/`, 302));

/** Serve a request the way an origin behind Spillway would. */
export async function demoOrigin(request: Request, opts: DemoOptions): Promise<Response> {
  return demo.fetch(request, opts);
}
