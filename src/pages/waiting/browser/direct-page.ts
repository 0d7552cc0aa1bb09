/**
 * The script of the waiting page's direct state (a listener admitted in a
 * direct room), bundled by ../../build.ts apart from the waiting page's own
 * script: the Janus client and the players ride only on this page, so the
 * page every waiting listener polls stays small. It reads what the server
 * rendered (the room, `?keep=1`, the first poll, the messages) and hands
 * over to ./direct.ts.
 */
import type { DirectClientText } from "../i18n/types.ts";
import { startDirect } from "./direct.ts";

const data = document.getElementById("spillway")!.dataset;
const keep = data.keep === "1";
startDirect({
  statusUrl: "/_spillway/rooms/" + encodeURIComponent(data.room!) + "/status" + (keep ? "?keep=1" : ""),
  T: JSON.parse(data.text!) as DirectClientText,
  pollSeconds: Number(data.poll) || 5,
});
