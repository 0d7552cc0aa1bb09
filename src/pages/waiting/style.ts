/**
 * The waiting page's CSS, inlined under the page's CSP nonce. Why it is
 * written so:
 * - logical properties only (margin-inline, padding-block, border-inline-start,
 *   text-align: start), so `dir="rtl"` mirrors the page with no second sheet;
 * - colours as custom properties, light and dark (prefers-color-scheme), each
 *   text colour at least 4.5:1 on its background (WCAG AA);
 * - the room's accent goes into `--accent` (a checked `#rrggbb`) with
 *   `--on-accent` set to black or white by luminance, and is used only for
 *   surfaces (buttons, the progress bar, decorative rules), never as a text
 *   colour on the page's own backgrounds;
 * - focus is always visible (an outline in the text colour), and motion runs
 *   only for those who have not asked for less (prefers-reduced-motion).
 */
import type { PageBranding } from "./branding.ts";

const BASE = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--ink:#16181d;--muted:#4d5562;--line:#d5d9e0;--link:#1f4fd1;--accent:#1f4fd1;--on-accent:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#0f1217;--card:#1a1f27;--ink:#eceff4;--muted:#a9b1bf;--line:#363e4b;--link:#9dbbff;--accent:#8fb0ff;--on-accent:#000}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic","Noto Sans Hebrew",sans-serif}
main{max-width:34rem;margin-block:6vh;margin-inline:auto;padding-block:1.25rem;padding-inline:1.5rem;background:var(--card);border-radius:14px;border-block-start:6px solid var(--accent);box-shadow:0 1px 4px #0003}
@media (max-width:36rem){main{margin:0;border-radius:0;min-height:100vh}}
.brand{display:flex;align-items:center;gap:.75rem;margin-block-end:1rem}
.brand img{inline-size:3rem;block-size:3rem;object-fit:contain;border-radius:8px;flex:none}
h1{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
.message{margin-block:0 1rem;padding-block:.5rem;padding-inline:.75rem;border-inline-start:4px solid var(--accent);background:var(--bg);border-radius:6px}
.message p{white-space:pre-line;overflow-wrap:anywhere;margin:0}
.message h2{font-size:.85rem;font-weight:600;color:var(--muted);margin:0}
h2{font-size:1.5rem;line-height:1.25;margin-block:0 .5rem}
p{margin-block:.5rem}
dl{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin-block:1rem}
dl div{border:1px solid var(--line);border-radius:10px;padding-block:.5rem;padding-inline:.75rem}
dl .lead{grid-column:1/-1}
dt{color:var(--muted);font-size:.9rem}
dd{margin:0;font-weight:650;font-variant-numeric:tabular-nums}
.big{display:block;font-size:3rem;line-height:1.15}
.next{font-weight:650}
progress{display:block;inline-size:100%;block-size:.8rem;margin-block:.35rem;accent-color:var(--accent)}
label{color:var(--muted);font-size:.9rem}
.note{color:var(--muted);font-size:.92rem}
a{color:var(--link)}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-block:1rem}
.button{display:inline-block;padding-block:.7rem;padding-inline:1.1rem;border-radius:10px;background:var(--accent);color:var(--on-accent);font-weight:650;text-decoration:none;box-shadow:inset 0 0 0 1px #0004}
button.button{border:0;font:inherit;cursor:pointer}
#player audio{display:block;inline-size:100%;margin-block:1rem}
.button.plain{background:transparent;color:var(--link);box-shadow:inset 0 0 0 2px var(--link)}
:focus-visible{outline:3px solid var(--ink);outline-offset:3px}
h2:focus{outline:none}h2:focus-visible{outline:3px solid var(--ink)}
.langs{margin-block-start:1.5rem;padding-block-start:.75rem;border-block-start:1px solid var(--line);font-size:.9rem}
.langs ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.25rem 0 0}
.langs [aria-current]{font-weight:700;color:var(--ink);text-decoration:none}
.sr-only{position:absolute;inline-size:1px;block-size:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
[hidden]{display:none!important}
@media (prefers-reduced-motion:no-preference){.bump{animation:bump .5s ease-out}@keyframes bump{from{transform:scale(1.12)}}progress{transition:all .4s}}
`;

/** `--accent` and its text colour for the room, in light and dark alike; nothing unless the colour checks out. */
function accentRule(branding: PageBranding): string {
  const accent = branding.accent;
  if (accent === null || !/^#[0-9a-f]{6}$/.test(accent.color)) return "";
  return `:root{--accent:${accent.color};--on-accent:${accent.text}}`;
}

/** The page's whole style sheet. */
export function pageStyle(branding: PageBranding): string {
  return BASE + accentRule(branding);
}
