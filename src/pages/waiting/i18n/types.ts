/**
 * The shape of a waiting-page message catalog: one object per language, all
 * of it checked by `tsc`. A catalog that lacks a key, or a template that lacks
 * one of its placeholders (`{eta}`, `{position}`, …), does not compile.
 *
 * Numbers, durations and times are never written into a template by hand:
 * the page formats them with `Intl` for the language and puts the result in
 * the placeholder, so a catalog holds words only. Counts never sit inside a
 * sentence that would need a plural form; they stand after a label, or come
 * out of `Intl.NumberFormat` with a unit, which knows each language's plurals.
 */

/** A message with the placeholder `{K}` in it, somewhere. */
export type Template<K extends string> = `${string}{${K}}${string}`;

export interface Catalog {
  /** The language's own name, for the language links ("Français"). */
  name: string;
  /** Writing direction: `rtl` mirrors the whole page. */
  dir: "ltr" | "rtl";
  /** The page's heading (and the tab's title) in each state. */
  heading: {
    prequeue: string;
    queued: string;
    admitted: string;
    overflow: string;
    closed: string;
  };
  /** What the page says while the listener waits in line. */
  queued: {
    intro: string;
    /** Label of the listener's place (1 is the front). */
    place: string;
    /** Label of the number of listeners ahead. */
    ahead: string;
    /** Label of the estimate. */
    wait: string;
    /** Under the progress bar: `{percent}` is a formatted percentage. */
    progress: Template<"percent">;
    /** Label of the progress bar. */
    progressLabel: string;
    keepOpen: string;
  };
  /** Before the event starts. */
  prequeue: {
    intro: string;
    /** Label of the ticking countdown. */
    opensIn: string;
    /** `{relative}` as "in 2 hours", `{time}` the start in the listener's time zone. */
    opensAt: Template<"relative"> & Template<"time">;
    keepOpen: string;
  };
  /** The listener's turn has come (the page walks into the room). */
  admitted: {
    body: string;
    /** The link into the room, for a page that cannot walk in by itself. */
    go: string;
  };
  /**
   * Admitted to a room whose media server the listener reaches directly
   * (origin icecast-hook, janus or livekit): the page plays the live audio
   * itself, or hands the connection to the app.
   */
  direct: {
    /** While the page fetches where to connect, or connects. */
    connecting: string;
    /** The audio is playing. */
    playing: string;
    /** The browser refused to start the audio by itself: the listener presses play. */
    pressPlay: string;
    /** A livekit room: no player in the page, the app connects. */
    app: string;
    /** The media server ended this device's connection (the seat ended, or the connection dropped). */
    ended: string;
    /** …and the status says the event is over. */
    endedClosed: string;
    /** …and the seat is no longer this listener's. */
    endedSeat: string;
    /** …and the seat is still held: the listener can connect again. */
    endedKept: string;
    /** The button that connects again. */
    again: string;
    /** The link back to the line. */
    rejoin: string;
    /** A network error or a fault: the page tries again by itself. */
    retry: string;
    /** Accessible name of the audio player. */
    player: string;
    /** Shown without JavaScript. */
    noscript: string;
  };
  /** The live room is full: the recording is offered. */
  overflow: {
    full: string;
    /** With a place still to be had: `{eta}` is the estimate. */
    canKeep: Template<"eta">;
    /** Without one (the line is full too). */
    lineFull: string;
    /** The link that keeps (or takes) a place in line. */
    keep: string;
    /** Until the recording is posted. */
    pending: string;
  };
  /** The event is over. */
  closed: {
    over: string;
    pending: string;
  };
  /** The link to the recording. */
  recording: string;
  /** The estimate, from `etaRange` (see ../rules.ts). */
  eta: {
    /** `{range}` is a formatted range with its unit: "4–6 minutes". */
    about: Template<"range">;
    soon: string;
    unknown: string;
  };
  /** Said by screen readers when the place changes meaningfully (see `shouldAnnounce`). */
  announce: Template<"position"> & Template<"eta">;
  /** A position at the very front. */
  next: string;
  /** Alternative text of the room's logo: `{title}` is the room's title. */
  logoAlt: Template<"title">;
  /** Label of the hosts' message. */
  hostMessage: string;
  /** Label of the language links. */
  languages: string;
  /** Under-attack mode: the browser solves a short proof of work before it joins the line. */
  /** While the room's state cannot be reached (the failure policy): the page reloads itself. */
  reconnecting: {
    heading: string;
    /** To a listener in line: its place is kept. */
    waiting: string;
    /** To a new arrival: no place can be taken just now. */
    arriving: string;
    /** `{seconds}` is a formatted duration ("8 seconds"). */
    retryIn: Template<"seconds">;
  };
  challenge: {
    /** The page's heading (and the tab's title). */
    heading: string;
    /** What is happening, and that it is short. */
    intro: string;
    /** Why, honestly: the room is protected; nothing is installed or collected by it. */
    why: string;
    /** Label of the progress bar. */
    progressLabel: string;
    /** Said once the check has run for a while. */
    still: string;
    /** The check passed: the page is taking a place in line. */
    done: string;
    /** A network error or a fault: the page tries again by itself. */
    retry: string;
    /** Many people are joining at once (429): the page tries again by itself. */
    busy: string;
    /** This browser cannot run the check (no Web Workers or no Web Crypto). */
    unsupported: string;
    /** Shown without JavaScript. */
    noscript: string;
    keepOpen: string;
  };
}

/** The messages the page script needs after the page has loaded (sent to it as JSON). */
export type ClientText = Pick<Catalog, "eta" | "announce" | "next"> & {
  progress: Catalog["queued"]["progress"];
  opensAt: Catalog["prequeue"]["opensAt"];
  canKeep: Catalog["overflow"]["canKeep"];
};

/** The messages the direct page's script needs (sent to it as JSON instead of ClientText). */
export type DirectClientText = Omit<Catalog["direct"], "noscript">;

/** The subset of a catalog the direct page's script uses. */
export function directClientText(t: Catalog): DirectClientText {
  const { noscript: _shownByTheServer, ...rest } = t.direct;
  return rest;
}

/** The messages the challenge page's script needs (sent to it as JSON). */
export type ChallengeClientText = Pick<Catalog["challenge"], "still" | "done" | "retry" | "busy" | "unsupported">;

/** The subset of a catalog the challenge page's script uses. */
export function challengeClientText(t: Catalog): ChallengeClientText {
  const { still, done, retry, busy, unsupported } = t.challenge;
  return { still, done, retry, busy, unsupported };
}

/** The subset of a catalog the script uses. */
export function clientText(t: Catalog): ClientText {
  return {
    eta: t.eta,
    announce: t.announce,
    next: t.next,
    progress: t.queued.progress,
    opensAt: t.prequeue.opensAt,
    canKeep: t.overflow.canKeep,
  };
}
