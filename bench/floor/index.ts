/**
 * The waiting poll's floor as a Worker of its own (answer.ts says what it
 * does and why): `npm run bench:side -- --cases floor,poll-floor` loads it
 * side by side with hello world and with Spillway's poll.
 */
import { floorAnswer } from "./answer.ts";

export default {
  fetch(request: Request): Response {
    return floorAnswer(request);
  },
};
