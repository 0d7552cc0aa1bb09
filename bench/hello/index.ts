/**
 * The benchmark's baseline: the smallest useful Worker, answering every
 * request with a fixed text. `npm run bench` measures it in the same local
 * workerd as Spillway, so Spillway's numbers are read as ratios to it.
 */
export default {
  fetch(): Response {
    return new Response("Hello World!", { headers: { "content-type": "text/plain;charset=UTF-8" } });
  },
};
