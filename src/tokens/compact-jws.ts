/**
 * Compact JWS tokens taken apart once per request.
 *
 * A listener's bearer token is read twice: its `typ` header says which
 * verifier it goes to (ticket or pass), then that verifier checks it. Both
 * use the same `CompactJws`, so the header is decoded once. Nothing here
 * checks a signature: a `CompactJws` is only what the token claims to be.
 *
 * Segments are decoded as jose decodes them (base64url, `+` and `/`
 * refused), so a token reads the same here as it did through jose.
 */

/** A token split at its dots, with its protected header decoded (unverified). */
export interface CompactJws {
  /** The token as presented. */
  readonly token: string;
  /** Its dot-separated segments: three for a JWS (five would be a JWE, never valid here). */
  readonly segments: readonly string[];
  /** The protected header, a JSON object; unverified. */
  readonly header: Readonly<Record<string, unknown>>;
  /**
   * Whether the header's bytes are valid UTF-8. The kind peek reads headers
   * leniently, as jose's `decodeProtectedHeader` does; verification refuses
   * a header that is not strictly UTF-8, as jose's `jwtVerify` does.
   */
  readonly headerIsUtf8: boolean;
}

export const ASCII = /^\p{ASCII}*$/u;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });

/** A base64url segment as a binary string (one char per byte), or null when it is not base64url. */
function binaryOf(segment: string): string | null {
  if (segment.includes("+") || segment.includes("/")) return null;
  try {
    return atob(segment.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
}

function bytesOf(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The bytes a base64url segment encodes, or null when it is not base64url. */
export function decodeBase64url(segment: string): Uint8Array<ArrayBuffer> | null {
  const binary = binaryOf(segment);
  return binary === null ? null : bytesOf(binary);
}

/** Text of a segment's bytes: ASCII as it is, anything else through the decoder (null when it refuses). */
function textOf(binary: string, decoder: TextDecoder): string | null {
  if (ASCII.test(binary)) return binary;
  try {
    return decoder.decode(bytesOf(binary));
  } catch {
    return null;
  }
}

/** A JSON object (what JOSE headers and JWT claim sets must be), or null. */
function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The JSON object a base64url segment encodes in strict UTF-8, or null. */
export function decodeJsonObject(segment: string): Record<string, unknown> | null {
  const binary = binaryOf(segment);
  return binary === null ? null : parseObject(textOf(binary, strictUtf8));
}

/**
 * Split a token and decode its protected header; null when it has no
 * readable header. Accepts the tokens jose's `decodeProtectedHeader` accepts:
 * three or five segments, the first a base64url JSON object.
 */
export function readCompactJws(token: string): CompactJws | null {
  const segments = token.split(".");
  if (segments.length !== 3 && segments.length !== 5) return null;
  const binary = binaryOf(segments[0]!);
  if (binary === null) return null;
  const header = parseObject(textOf(binary, lenientUtf8));
  if (header === null) return null;
  const headerIsUtf8 = ASCII.test(binary) || textOf(binary, strictUtf8) !== null;
  return { token, segments, header, headerIsUtf8 };
}
