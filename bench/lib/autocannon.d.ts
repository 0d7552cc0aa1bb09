/**
 * Types for the part of autocannon's programmatic API the benchmark uses
 * (autocannon ships none of its own).
 */
declare module "autocannon" {
  export interface RawRequest {
    method: string;
    path: string;
    headers: Record<string, string>;
  }

  export interface RequestSpec {
    method: string;
    path: string;
    headers?: Record<string, string>;
    /** Called before every request; returns the request to send. */
    setupRequest?: (request: RawRequest, context: object) => RawRequest;
  }

  export interface Options {
    url: string;
    connections: number;
    duration: number;
    pipelining: number;
    workers: number;
    requests: RequestSpec[];
  }

  export interface Results {
    /** Seconds. */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    requests: { total: number };
    statusCodeStats: Record<string, { count: number }>;
  }

  export interface Instance extends PromiseLike<Results> {
    on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
    stop(): void;
  }

  export default function autocannon(options: Options): Instance;
}
