/**
 * The OpenAPI document's types: only the parts of OpenAPI 3.1 this document
 * uses (openapi.ts builds it).
 */
import type { JsonSchema } from "@valibot/to-json-schema";

export type Ref = { $ref: string };

export interface Example {
  summary?: string;
  value: unknown;
}

export interface MediaType {
  schema: JsonSchema;
  examples?: Record<string, Example | Ref>;
}

export interface Header {
  description: string;
  schema: JsonSchema;
}

export interface Response {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, MediaType>;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description: string;
  schema: JsonSchema;
}

export interface RequestBody {
  description: string;
  required: boolean;
  content: Record<string, MediaType>;
}

export type SecurityRequirement = Record<string, string[]>;

export interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  parameters?: (Parameter | Ref)[];
  requestBody?: RequestBody;
  responses: Record<string, Response | Ref>;
  /** `[]`: public. `{}` in the list: the credential is optional. */
  security: SecurityRequirement[];
}

export interface PathItem {
  parameters?: Ref[];
  get?: Operation;
  post?: Operation;
  patch?: Operation;
}

export interface SecurityScheme {
  type: "http";
  scheme: "bearer";
  bearerFormat?: string;
  description: string;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; summary: string; description: string; license: { name: string } };
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, Parameter>;
    headers: Record<string, Header>;
    examples: Record<string, Example>;
    securitySchemes: Record<string, SecurityScheme>;
  };
}
