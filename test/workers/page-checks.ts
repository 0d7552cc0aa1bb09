/**
 * Checks the Workers tests make on the HTML pages Spillway serves (the
 * waiting page, the challenge page): how operator text is escaped in them,
 * and the CSP that lets only the page's own nonced script and style run.
 */
import { expect } from "vitest";

/** Text as a page's HTML carries it. */
export function escaped(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * Expects the page's CSP to allow nothing by default, connections to its
 * own origin, and only the script and style that carry its nonce (the same
 * for both), and the page's `<script>` and `<style>` to carry that nonce.
 * Returns the CSP and the nonce, for the caller's further checks.
 */
export function expectNoncedCsp(res: Response, html: string): { csp: string; nonce: string } {
  const csp = res.headers.get("content-security-policy") ?? "";
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
  expect(nonce).toBeDefined();
  expect(csp).toContain(`style-src 'nonce-${nonce}'`);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("connect-src 'self'");
  expect(html).toContain(`<script nonce="${nonce}">`);
  expect(html).toContain(`<style nonce="${nonce}">`);
  return { csp, nonce: nonce ?? "" };
}
