/**
 * Load generation with autocannon's programmatic API, in this process (no
 * worker threads): a warm-up run, then the measured run. Latency percentiles
 * are computed here from every response's own time (autocannon's histogram
 * rounds to whole milliseconds).
 */
import autocannon, { type Instance, type RawRequest, type Results } from "autocannon";

/** One request shape; `nextHeaders` may vary it per request (e.g. rotate credentials). */
export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Headers for the next request, called once per request. */
  nextHeaders?: () => Record<string, string>;
}

export interface LoadOptions {
  url: string;
  request: LoadRequest;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses received in the measured run. */
  requests: number;
  durationSeconds: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

let current: Instance | null = null;

/** Stop the load run in progress, if any (on Ctrl-C). */
export function stopLoad(): void {
  current?.stop();
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

async function fire(options: LoadOptions, seconds: number, latencies: number[] | null): Promise<Results> {
  const { request } = options;
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    pipelining: 1,
    workers: 0,
    requests: [
      {
        method: request.method,
        path: request.path,
        headers: request.headers ?? {},
        setupRequest: (raw: RawRequest) => {
          if (request.nextHeaders === undefined) return raw;
          return { ...raw, headers: { ...raw.headers, ...request.nextHeaders() } };
        },
      },
    ],
  });
  current = instance;
  if (latencies !== null) instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  try {
    return await instance;
  } finally {
    current = null;
  }
}

/** Load without measuring (JIT, caches and connections warm up). */
export async function warmUp(options: LoadOptions, seconds: number): Promise<void> {
  if (seconds > 0) await fire(options, seconds, null);
}

/** The measured run. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const r = await fire(options, options.durationSeconds, latencies);
  const sorted = Float64Array.from(latencies).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = count;
  return {
    rps: r.requests.total / r.duration,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    requests: r.requests.total,
    durationSeconds: r.duration,
    non2xx: r.non2xx,
    errors: r.errors,
    statusCodes,
  };
}
