/**
 * Checks of the OpenAPI document shared by the unit and the Workers tests:
 * JSON pointers, every `$ref` in the document, and a JSON Schema validator
 * for a schema of the document. The validator is @cfworker/json-schema: it
 * builds no code at run time (Ajv does, which workerd forbids), so the
 * Workers tests check live answers against the document the Worker serves.
 */
import { type Schema, Validator } from "@cfworker/json-schema";

/** The value at a local JSON pointer (`#/components/schemas/Status`); throws when there is none. */
export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`not a local reference: ${ref}`);
  let node = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) {
      throw new Error(`unresolved reference: ${ref}`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Every `$ref` anywhere in a JSON value. */
export function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "$ref" && typeof value === "string" ? [value] : refsIn(value),
  );
}

/** An object that may be a `{ $ref }` to another part of the document: the object it stands for. */
export function deref<T>(root: unknown, node: T | { $ref: string }): T {
  const ref = (node as { $ref?: unknown }).$ref;
  return typeof ref === "string" ? deref(root, resolvePointer(root, ref) as T | { $ref: string }) : (node as T);
}

/**
 * What is wrong with `value` by a schema of the document (a schema name in
 * components.schemas, or a schema object from anywhere in the document);
 * an empty list when it is valid. References resolve against the document.
 */
export function schemaErrors(
  doc: { components: { schemas: Record<string, unknown> } },
  schema: string | object,
  value: unknown,
): string[] {
  const root = typeof schema === "string" ? { $ref: `#/components/schemas/${schema}` } : schema;
  const validator = new Validator({ ...root, components: doc.components } as Schema, "2020-12", false);
  const result = validator.validate(value);
  return result.valid ? [] : result.errors.map((e) => `${e.instanceLocation}: ${e.error}`);
}

/** The methods an OpenAPI path item may hold an operation under. */
const OPERATION_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * A router path (Hono's syntax) as an OpenAPI path template: `:room`
 * becomes `{room}`, a trailing wildcard the `{path}` the document names
 * the rest of the URL with.
 */
export function templateOf(routerPath: string): string {
  return routerPath
    .split("/")
    .map((part, i, all) => {
      if (part.startsWith(":")) return `{${part.slice(1).replace(/\{.*\}$/, "")}}`;
      if (part === "*" && i === all.length - 1) return "{path}";
      return part;
    })
    .join("/");
}

/** Every operation of a document as `METHOD /path/{template}`, the method in capitals. */
export function documentedOperations(doc: { paths: Record<string, object> }): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => OPERATION_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}
