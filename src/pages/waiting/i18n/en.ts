/** English: the default, and the language every other catalog is checked against by type. */
import type { Catalog } from "./types.ts";

export const en: Catalog = {
  name: "English",
  dir: "ltr",
  heading: {
    prequeue: "Starting soon",
    queued: "You’re in line",
    admitted: "It’s your turn",
    overflow: "The live room is full",
    closed: "This event is over",
  },
  queued: {
    intro: "The live room is full right now, so you have a place in line.",
    place: "Your place in line",
    ahead: "People ahead of you",
    wait: "Estimated wait",
    progress: "{percent} of the way to the front",
    progressLabel: "Your progress since you joined",
    keepOpen: "Keep this page open. It takes you into the room as soon as it’s your turn.",
  },
  prequeue: {
    intro: "The event hasn’t started yet. Your place is saved, and the room opens at the start.",
    opensIn: "Opens in",
    opensAt: "The room opens {relative}, at {time}.",
    keepOpen: "Keep this page open. It takes you in when the event starts and your turn comes.",
  },
  admitted: {
    body: "Taking you into the room…",
    go: "Go into the room",
  },
  overflow: {
    full: "The live room can’t take more listeners right now.",
    canKeep: "You can keep a place in line (the wait is {eta}) or listen to the recording once it’s posted.",
    lineFull: "The line is full too, but you can listen to the recording once it’s posted.",
    keep: "Keep my place in line",
    pending: "Keep this page open: it takes you to the recording as soon as it’s posted.",
  },
  closed: {
    over: "Thanks for coming. The live event has ended.",
    pending: "The recording will be linked here once it’s posted.",
  },
  recording: "Listen to the recording",
  eta: {
    about: "about {range}",
    soon: "less than a minute",
    unknown: "not known yet: the line isn’t moving right now",
  },
  announce: "You’re now number {position} in line. Estimated wait: {eta}.",
  next: "You’re next in line.",
  logoAlt: "{title} logo",
  hostMessage: "From the hosts",
  languages: "Language",
  reconnecting: {
    heading: "Reconnecting",
    waiting: "You are still in line: your place is kept. The room cannot be reached just now.",
    arriving: "The room cannot take new listeners just now.",
    retryIn: "This page tries again in {seconds}.",
  },
  challenge: {
    heading: "Checking your browser",
    intro: "Checking your browser before you join the line — this takes a few seconds.",
    why: "This room is protected from automated traffic right now, so your browser solves a short puzzle first. The puzzle installs nothing and reads nothing about you or your device.",
    progressLabel: "Progress of the check",
    still: "Still checking. Keep this page open.",
    done: "Done. Taking your place in line…",
    retry: "The connection failed. Trying again shortly.",
    busy: "Many people are joining right now. Trying again shortly.",
    unsupported: "This browser can’t run the check. Please try an up-to-date browser.",
    noscript: "JavaScript is needed to join the line while this room is protected. Turn it on, then reload this page.",
    keepOpen: "Keep this page open. It takes you to the line by itself.",
  },
};
