/**
 * The OpenAPI 3.1 document of Spillway's HTTP contract, served at
 * /_spillway/openapi.json.
 *
 * Its schemas are generated with @valibot/to-json-schema from the valibot
 * schemas the code's own types come from (schemas.ts; the admin PATCH body
 * is config.ts's RoomConfigPatchSchema itself), so what the document says a
 * status answer holds is what the code builds (openapi-components.ts). The
 * paths, headers and security are written by hand from the routes in
 * src/http/ (openapi-paths.ts); the error responses take their statuses and
 * messages from errors.ts, and the status examples are made by status.ts's
 * builders.
 *
 * The document is built once per isolate, on first request: the schemas
 * never change at run time, and most isolates never serve it.
 */
import { toJsonSchemaDefs } from "@valibot/to-json-schema";
import { version } from "../../package.json";
import { CONVERSION, examples, HEADERS, PARAMETERS, SCHEMAS, SECURITY_SCHEMES } from "./openapi-components.ts";
import { ADMIN, adminPaths, LISTENER, listenerPaths, ORIGIN } from "./openapi-paths.ts";
import type { OpenApiDocument } from "./openapi-types.ts";

export { JWKS_PATH, OPENAPI_PATH } from "./openapi-paths.ts";
export { directStatusExamples, type SchemaName, statusExamples } from "./openapi-components.ts";
export type { OpenApiDocument } from "./openapi-types.ts";

const DESCRIPTION = `Spillway is an edge admission controller for live audio rooms: it lets in as many live listeners as the
room's origin can carry, keeps everyone else in an honest queue, and offers the recording when the room is full.

Listeners (apps) **join** a room and get the status JSON with a **ticket**; they poll **status** with it every
\`pollAfterSeconds\` (also sent as \`Retry-After\`) until the answer is \`admitted\` with a **pass**, which opens the
guarded room path and is renewed by **heartbeat**. Browsers do the same through the guarded path with cookies.
Origins verify passes with the **JWKS**. Ops use the **admin** API with an admin token.

Tokens go as \`Authorization: Bearer <token>\`; browsers get them as per-room HttpOnly cookies instead. Every error
is \`{"error": {"code", "message"}}\`. The paths, field names and error codes are contract v1: fields may be added,
never renamed.`;

function buildDocument(): OpenApiDocument {
  return {
    openapi: "3.1.0",
    info: {
      title: "Spillway",
      version,
      summary: "Edge admission controller for live audio rooms.",
      description: DESCRIPTION,
      license: { name: "MIT" },
    },
    tags: [
      { name: LISTENER, description: "Listeners: join, wait, claim, keep and give back a seat." },
      { name: ORIGIN, description: "Public documents: the keys that verify passes, and this document." },
      { name: ADMIN, description: "Ops: config, live numbers, history, audit, releasing a seat, metrics." },
    ],
    paths: { ...listenerPaths(), ...adminPaths() },
    components: {
      schemas: toJsonSchemaDefs(SCHEMAS, CONVERSION),
      parameters: PARAMETERS,
      headers: HEADERS,
      examples: examples(),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

let built: { document: OpenApiDocument; json: string } | null = null;

function once(): { document: OpenApiDocument; json: string } {
  if (built === null) {
    const document = buildDocument();
    built = { document, json: JSON.stringify(document) };
  }
  return built;
}

/** The document (built on first use, then kept for the isolate's life). */
export function openApiDocument(): OpenApiDocument {
  return once().document;
}

/** The document as served: serialized once, like the document itself. */
export function openApiJson(): string {
  return once().json;
}
