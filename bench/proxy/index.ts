/**
 * The benchmark's proxy baseline: forwards every request, unchecked, to
 * ORIGIN_URL (same path and query, same method, headers and body) and
 * returns the origin's answer as it is. `npm run bench` puts a request with
 * a pass proxied by Spillway next to this one, so the ratio is what
 * Spillway's checks cost on top of the fetch to the origin itself.
 */
interface ProxyEnv {
  ORIGIN_URL: string;
}

export default {
  fetch(request: Request, env: ProxyEnv): Promise<Response> {
    const url = new URL(request.url);
    return fetch(new Request(new URL(url.pathname + url.search, env.ORIGIN_URL), request));
  },
} satisfies ExportedHandler<ProxyEnv>;
