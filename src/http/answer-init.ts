/**
 * The init of answers that are built again and again with the same status
 * and headers (a waiting poll's status JSON, the public documents).
 *
 * It is itself a Response, with no body: given as the init of a new
 * Response, its status and headers are read from it as from any
 * ResponseInit (the Fetch standard reads a dictionary's members, which a
 * Response has). workerd copies them from another Response for far less
 * than it reads a plain init object holding a Headers object: about 6,000
 * fewer machine instructions an answer with five headers, 7 % of what a
 * waiting poll's request handler ran before (`npm run bench:instructions`;
 * docs/scale.md, "The poll's floor").
 *
 * Built once and reused by every answer; it never has a body to be read.
 */
export function reusableInit(headers: Record<string, string>): ResponseInit {
  return new Response(null, { headers });
}
