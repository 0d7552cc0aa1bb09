/**
 * The waiting page's admitted state in a direct room (origin icecast-hook,
 * janus or livekit), started by ./direct-page.ts: instead of walking into the
 * room, the listener connects to the media server itself, with the
 * credential the status JSON's `connect` carries.
 *
 * - It fetches the status (the page's own poll) and reads `connect`:
 *   `icecast`: an `<audio controls autoplay>` plays `connect.url`;
 *   `janus`: ./janus-listener.ts joins the AudioBridge room (or watches the
 *   Streaming mountpoint) receive-only and the remote track plays in an
 *   `<audio>`; `livekit` (or a kind this page has no client for): no
 *   player: the page says to continue in the app and dispatches
 *   `spillway:connect` on `window` with `connect` as its `detail`, once, for
 *   the app around the page (a WebView's injected script) to connect.
 *   Without `connect` yet (the origin could not take the credential yet) it
 *   says "connecting" and asks again after `pollAfterSeconds`.
 * - While connected it keeps polling at `pollAfterSeconds` (the pass's
 *   heartbeat pace); an answer that is no longer `admitted` stops the audio.
 * - When the media server ends this device's connection (Janus destroyed
 *   the session: the seat ended; Icecast dropped or refused the stream), the
 *   audio stops, the page says so, and asks the status once to say why:
 *   the event is over, the seat is gone (a link back to the line), or the
 *   seat is still held (a button to listen again). Nothing reloads or
 *   reconnects by itself, so an ended seat never turns into a loop.
 * - Failures (network, 5xx, 429) back off as the page's poll does
 *   (../backoff.ts). Text is set with textContent only, and every change is
 *   said through the status line, a polite live region.
 */
import { backoffSeconds, retryAfterSeconds } from "../backoff.ts";
import type { DirectClientText } from "../i18n/types.ts";
import { JanusError, JanusListener } from "./janus-listener.ts";

/** The `connect` object of an admitted status in a direct room, as far as this page reads it. */
export interface Connect {
  kind: string;
  url?: string;
  token?: string;
  plugin?: string;
  room?: number | string;
  identity?: string;
  expiresAt?: string;
}

/** The fields of a status answer the direct page reads. */
interface DirectStatus {
  state?: string;
  pollAfterSeconds?: number;
  connect?: Connect;
}

/** A refused status request (4xx): the ticket lapsed or its seat ended. */
const REFUSED = "refused";

export interface DirectOptions {
  /** The status endpoint (with `?keep=1` when the page has it). */
  statusUrl: string;
  T: DirectClientText;
  /** Seconds before the first repeat poll, as rendered. */
  pollSeconds: number;
}

type Phase = "connecting" | "connected" | "ended";

/** Run the direct state of the page (the server rendered #admitted with #direct-status, #player and the actions). */
export function startDirect(options: DirectOptions): void {
  const T = options.T;
  const status = document.getElementById("direct-status")!;
  const playerBox = document.getElementById("player")!;
  const again = document.getElementById("direct-again")!;
  const rejoin = document.getElementById("direct-rejoin")!;
  let phase: Phase = "connecting";
  let delay = options.pollSeconds > 0 ? options.pollSeconds : 5;
  let failures = 0;
  let retryAfter: number | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let announcedApp = false;
  let stopPlayer: (() => void) | null = null;

  const say = (text: string) => {
    if (status.textContent !== text) status.textContent = text;
  };

  /** The status, or REFUSED; throws on a failure worth retrying (network, 5xx, 429), noting its Retry-After. */
  async function fetchStatus(): Promise<DirectStatus | typeof REFUSED> {
    const res = await fetch(options.statusUrl, {
      headers: { accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (res.status === 429 || res.status >= 500) {
      retryAfter = retryAfterSeconds(res.headers.get("retry-after"), Date.now());
      throw new Error("status " + res.status);
    }
    if (res.status >= 400) return REFUSED;
    return (await res.json()) as DirectStatus;
  }

  function later(seconds: number, then: () => void, jittered = false): void {
    clearTimeout(timer);
    timer = setTimeout(then, seconds * 1000 * (jittered ? 1 : 0.9 + Math.random() * 0.2));
  }

  /** After a failure: exponential backoff with full jitter, no sooner than a Retry-After. */
  function backOff(then: () => void): void {
    failures += 1;
    const wait = backoffSeconds(failures, delay, retryAfter);
    retryAfter = null;
    later(wait, then, true);
  }

  const next = () => void step();

  /** One round: ask the status, then connect, keep going, or stop, as it says. */
  async function step(): Promise<void> {
    let st: DirectStatus | typeof REFUSED;
    try {
      st = await fetchStatus();
    } catch {
      if (phase === "connecting") say(T.retry);
      backOff(next);
      return;
    }
    failures = 0;
    if (phase === "ended") return;
    if (st === REFUSED || st.state !== "admitted") {
      ended(st);
      return;
    }
    if (st.pollAfterSeconds !== undefined && st.pollAfterSeconds > 0) delay = st.pollAfterSeconds;
    if (phase === "connecting") {
      if (st.connect === undefined) say(T.connecting);
      else if (!(await connect(st.connect))) return;
    }
    later(delay, next);
  }

  /** Start the player `connect` calls for; false when it failed and a retry is already scheduled. */
  async function connect(c: Connect): Promise<boolean> {
    if (c.kind === "icecast" && typeof c.url === "string") {
      playIcecast(c.url);
      return true;
    }
    if (c.kind === "janus" && typeof c.url === "string" && typeof c.token === "string") {
      return playJanus({ url: c.url, token: c.token, plugin: c.plugin ?? "", room: c.room ?? "" });
    }
    // LiveKit (or a client this page does not have): the app around the page connects.
    phase = "connected";
    say(T.app);
    if (!announcedApp) {
      announcedApp = true;
      window.dispatchEvent(new CustomEvent("spillway:connect", { detail: c }));
    }
    return true;
  }

  /** An `<audio controls autoplay>`, named for assistive technology; a refused autoplay asks for the play button. */
  function audioElement(): HTMLAudioElement {
    playerBox.replaceChildren();
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.autoplay = true;
    audio.setAttribute("aria-label", T.player);
    audio.addEventListener("playing", () => phase === "connected" && say(T.playing));
    playerBox.append(audio);
    return audio;
  }

  function start(audio: HTMLAudioElement): void {
    audio.play().catch(() => phase === "connected" && say(T.pressPlay));
  }

  function playIcecast(url: string): void {
    phase = "connected";
    const audio = audioElement();
    // Icecast refused the pass, or dropped the connection: this device's audio ended.
    const lost = () => phase === "connected" && deviceEnded();
    audio.addEventListener("error", lost);
    audio.addEventListener("ended", lost);
    stopPlayer = () => {
      audio.removeEventListener("error", lost);
      audio.removeEventListener("ended", lost);
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
    };
    audio.src = url;
    start(audio);
  }

  async function playJanus(c: { url: string; token: string; plugin: string; room: number | string }) {
    const audio = audioElement();
    const listener = new JanusListener(c, {
      onTrack: (stream) => {
        audio.srcObject = stream;
        start(audio);
      },
      onEnd: (why) => why !== "stopped" && deviceEnded(),
    });
    stopPlayer = () => {
      listener.stop();
      audio.pause();
      audio.srcObject = null;
    };
    try {
      phase = "connected";
      await listener.start();
      return true;
    } catch (err) {
      stopPlayer = null;
      playerBox.replaceChildren();
      if (phase === "ended") return false;
      if (err instanceof JanusError && err.revoked) {
        // The token is already refused: the seat ended before the page connected.
        phase = "connecting";
        deviceEnded();
        return false;
      }
      phase = "connecting";
      say(T.retry);
      backOff(next);
      return false;
    }
  }

  /** The media server ended this device's audio: say so, then ask the status once for why. */
  function deviceEnded(): void {
    if (phase === "ended") return;
    halt();
    say(T.ended);
    // The origin can hear of an ended seat before every edge does: a status still saying
    // `admitted` just after is asked again a little later (twice) before it is believed.
    let recheck = 2;
    const ask = () =>
      fetchStatus().then(
        (st) => {
          if (st !== REFUSED && st.state === "admitted" && recheck > 0) {
            recheck -= 1;
            setTimeout(ask, 1_500);
          } else explain(st);
        },
        () => backOff(ask),
      );
    void ask();
  }

  /** A status that is no longer admitted (or refused) while connecting or connected: stop and say why. */
  function ended(st: DirectStatus | typeof REFUSED): void {
    halt();
    explain(st);
  }

  function halt(): void {
    phase = "ended";
    clearTimeout(timer);
    stopPlayer?.();
    stopPlayer = null;
    playerBox.replaceChildren();
  }

  /** Why the audio ended, from one status answer, with the one way on it offers. */
  function explain(st: DirectStatus | typeof REFUSED): void {
    const state = st === REFUSED ? REFUSED : st.state;
    if (state === "admitted") {
      say(T.ended + " " + T.endedKept);
      again.hidden = false;
    } else if (state === "closed") {
      say(T.ended + " " + T.endedClosed);
    } else {
      say(T.ended + " " + T.endedSeat);
      rejoin.hidden = false;
    }
  }

  again.addEventListener("click", () => {
    again.hidden = true;
    phase = "connecting";
    failures = 0;
    say(T.connecting);
    next();
  });
  // Leaving the page leaves Janus too, rather than holding its session until it times out.
  window.addEventListener("pagehide", () => {
    if (phase !== "ended") stopPlayer?.();
  });

  const heading = document.getElementById("admitted-title")!;
  heading.focus();
  next();
}
