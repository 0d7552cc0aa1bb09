/**
 * The built-in demo room origin, used when ORIGIN_URL is unset.
 *
 * It behaves like a real origin: it trusts nothing but the `Spillway-Pass`
 * header, verified against the public JWKS alone, and shows the verified
 * claims. The page keeps the seat by heartbeat and can give it back.
 */
import { Hono } from "hono";
import { raw } from "hono/html";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify, type JWTPayload } from "jose";
import { PASS_TYP } from "../tokens/claims.ts";
import { PASS_HEADER } from "./proxy.ts";

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#101418;color:#eef}
main{max-width:36rem;margin:8vh auto;padding:2rem;background:#1b2129;border-radius:12px}
h1{margin:0 0 .5rem}.live{color:#ff5b5b;font-weight:700}
table{border-collapse:collapse;width:100%;margin:1rem 0}td{border-top:1px solid #333;padding:.3rem .5rem;font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
button{font:inherit;padding:.5rem 1rem;border-radius:8px;border:0;background:#3a7bfd;color:#fff;cursor:pointer}
`;

const SCRIPT = `
(function(){
  var root=document.getElementById('room');
  var room=root.dataset.room, every=Number(root.dataset.heartbeat)*1000;
  var status=document.getElementById('seat');
  function post(path){ return fetch('/_spillway/rooms/'+encodeURIComponent(room)+'/'+path,{method:'POST',credentials:'same-origin',headers:{accept:'application/json'}}); }
  var timer=setInterval(function(){
    post('heartbeat').then(function(r){
      if(r.ok) return r.json().then(function(b){ status.textContent='Seat held until '+new Date(b.passExpiresAt).toLocaleTimeString(); });
      clearInterval(timer); status.textContent='Your seat has ended. Reload to join again.';
    }).catch(function(){});
  }, every);
  document.getElementById('leave').addEventListener('click', function(){
    clearInterval(timer);
    post('leave').then(function(){ status.textContent='You left the room; your seat went to the next listener.'; });
  });
})();
`;

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
          <p id="seat" aria-live="polite">
            Your seat is held while this page is open.
          </p>
          <button id="leave" type="button">
            Leave the room
          </button>
        </main>
        <script>{raw(SCRIPT)}</script>
      </body>
    </html>
  );
}

const demo = new Hono<{ Bindings: DemoOptions }>();

demo.all("/rooms/:room/*", async (c) => {
  const opts = c.env;
  const room = c.req.param("room");
  const token = c.req.header(PASS_HEADER);
  if (token === undefined) return c.text("no admission pass", 401);
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(opts.jwks), {
      algorithms: ["ES256"],
      typ: PASS_TYP,
      issuer: opts.issuer,
      audience: room,
      currentDate: new Date(opts.now),
    });
    if (c.req.header("accept")?.includes("application/json")) {
      return c.json({ room, live: true, claims: payload });
    }
    return c.html(
      <RoomPage
        room={room}
        claims={payload}
        heartbeatSeconds={opts.heartbeatSeconds}
        path={new URL(c.req.url).pathname}
      />,
    );
  } catch {
    return c.text("admission pass refused", 403);
  }
});

demo.all("/rooms/:room", (c) => c.redirect(`/rooms/${c.req.param("room")}/`, 302));

/** Serve a request the way an origin behind Spillway would. */
export async function demoOrigin(request: Request, opts: DemoOptions): Promise<Response> {
  return demo.fetch(request, opts);
}
