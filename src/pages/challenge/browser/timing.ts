/** The challenge page script's timings (./page.ts), apart from it so that tests can read them. */

/** How long the check runs before the live region says it is still going. */
export const STILL_AFTER_MS = 8_000;
/** The first wait of a backoff, in seconds. */
export const CHALLENGE_BACKOFF_BASE_SECONDS = 1;
