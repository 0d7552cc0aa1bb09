/**
 * Load generation with autocannon's programmatic API: a short warm-up, then
 * the measured run. Latency percentiles are computed here from every
 * response's own time (autocannon's histogram rounds to whole milliseconds).
 */
import autocannon from "autocannon";

/** One request shape; `setup` may change it per request (e.g. rotate credentials). */
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
  warmupSeconds: number;
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

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

interface Results {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  statusCodeStats: Record<string, { count: number }>;
}

interface Instance extends PromiseLike<Results> {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
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
  }) as Instance;
  current = instance;
  if (latencies !== null) instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  try {
    return await instance;
  } finally {
    current = null;
  }
}

/** Warm up, then measure. */
export async function measure(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await fire(options, options.warmupSeconds, null);
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
