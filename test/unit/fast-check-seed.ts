/**
 * Property tests are deterministic: every fast-check run of the unit tests
 * starts from one seed, FC_SEED when set (to explore: `FC_SEED=$RANDOM npx
 * vitest run --project unit`), else a fixed one. A counterexample found with
 * another seed is replayed with that seed and the path fast-check prints.
 */
import fc from "fast-check";

const DEFAULT_SEED = 20261205;
const given = process.env.FC_SEED;
const seed = given === undefined || given === "" ? DEFAULT_SEED : Number(given);
if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be a whole number, not ${JSON.stringify(given)}`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
