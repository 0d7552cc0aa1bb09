import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The folders of src/ by where their code runs, lowest first. A folder may
 * import from the folders before it, never from those after it; cli/ runs in
 * Node and takes only what runs anywhere.
 */
const LAYERS = ["policy", "tokens", "contract", "origins", "objects", "edge", "pages", "demo", "http"];
/** Folders whose code must not need Hono: everything below the wiring and the pages. */
const WITHOUT_HONO = new Set(["policy", "tokens", "contract", "origins", "objects", "edge"]);
/** Pages and the demo origin sit side by side: the demo imports no page (pages come first, so they cannot import it). */
const BESIDE = { demo: ["pages"] };

function layerRule(folder, above) {
  const patterns = [
    {
      regex: `^(\\.\\./)+(${above.join("|")})/`,
      message: `src/${folder}/ runs lower than ${above.map((f) => `src/${f}/`).join(", ")}: move the shared piece down instead.`,
    },
  ];
  if (WITHOUT_HONO.has(folder)) {
    patterns.push({
      regex: "^hono(/|$)",
      message: `src/${folder}/ runs without Hono; Hono wiring lives in src/http/.`,
    });
  }
  return { files: [`src/${folder}/**/*.{ts,tsx}`], rules: { "no-restricted-imports": ["error", { patterns }] } };
}

const layerRules = LAYERS.map((folder, i) => layerRule(folder, [...LAYERS.slice(i + 1), ...(BESIDE[folder] ?? [])]));

export default tseslint.config(
  { ignores: ["node_modules/", ".wrangler/", "worker-configuration.d.ts", "bench/results/", "src/pages/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  ...layerRules,
  // The pages' browser code, bundled into their scripts by src/pages/build.ts (tsconfig.browser.json checks its types).
  {
    files: ["src/pages/*/browser/**/*.ts"],
    languageOptions: {
      globals: Object.fromEntries(
        ["window", "self", "document", "location", "sessionStorage", "fetch", "crypto", "Worker", "Option"].map(
          (name) => [name, "readonly"],
        ),
      ),
    },
  },
  {
    files: ["src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+(objects|edge|pages|demo|http)/",
              message: "src/cli/ runs in Node: it may use src/policy/, src/tokens/ and src/contract/ only.",
            },
          ],
        },
      ],
    },
  },
);
