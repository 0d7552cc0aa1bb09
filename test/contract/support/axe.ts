/**
 * axe-core in a real page: the engine is read from the axe-core package and
 * injected as a script tag, then run over the whole document. Pages with a
 * strict CSP refuse injected scripts, so run it in a context opened with
 * `bypassCSP: true` (only for the audit: the page's own CSP is tested with
 * it in force).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Axe from "axe-core";
import type { Page } from "playwright-core";

/** The page's globals the audit callback uses (this project's types have no DOM library: the Worker has none). */
declare const window: { axe?: typeof Axe };
declare const document: unknown;

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** One violation, as much of it as a failing test should print. */
export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** The serious and critical violations axe finds on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => window.axe !== undefined))) await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(async () => {
    const result = await window.axe!.run(document as never, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(" ")),
      }));
  });
}
