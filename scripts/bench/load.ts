/**
 * One bounded load on one URL with autocannon, and what came back: how many answers, how many
 * wrong, how fast. Every load is bounded in time, and a smoke run's in requests too.
 */
import autocannon from 'autocannon';

/** The headers and body of one POST. */
export interface LoadRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface LoadOptions {
  /** Where to POST, on 127.0.0.1. */
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** At most this many requests in all (a smoke run's short load); unbounded within `seconds` otherwise. */
  readonly maxRequests?: number;
  /**
   * The request: one for every send, or a function called for each one, for what must differ
   * from request to request (a new signature with its one-time id, a new idempotency key).
   */
  readonly request: LoadRequest | (() => LoadRequest);
  /**
   * Judges the n-th answer (from 1): undefined when it is right, else what is wrong with it.
   * It runs in the benchmark's own process, beside autocannon: a full run should keep it cheap.
   */
  readonly check: (status: number, body: string, n: number) => string | undefined;
}

export interface LoadResult {
  /** Answers received, right or wrong. */
  readonly responses: number;
  /**
   * Requests sent: the answers, and those still in flight when the load stopped. The services
   * finish those too (a client that leaves after sending its request does not stop its work).
   */
  readonly sent: number;
  /** Wrong answers, connection errors and timeouts. */
  readonly wrong: number;
  /** What was wrong with the first wrong answer, for the failure message. */
  readonly firstWrong: string | undefined;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { url, request } = options;
  let responses = 0;
  let wrong = 0;
  let firstWrong: string | undefined;
  const onResponse = (status: number, body: string) => {
    responses += 1;
    const problem = options.check(status, body, responses);
    if (problem === undefined) return;
    wrong += 1;
    firstWrong ??= `${problem}: HTTP ${status} ${body.slice(0, 500)}`;
  };
  const path = new URL(url).pathname;
  const started = performance.now();
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.maxRequests === undefined ? {} : { maxOverallRequests: options.maxRequests }),
    // A short run would otherwise last a whole second past its last answer: autocannon sees that
    // it is done only at its next sample.
    sampleInt: 250,
    requests: [
      typeof request === 'function'
        ? {
            method: 'POST',
            path,
            // autocannon builds each request anew when it has a setupRequest.
            setupRequest: (raw) => {
              const next = request();
              return { ...raw, headers: { ...raw.headers, ...next.headers }, body: next.body };
            },
            onResponse,
          }
        : { method: 'POST', path, headers: request.headers, body: request.body, onResponse },
    ],
  });
  const seconds = (performance.now() - started) / 1000;
  // autocannon counts what it sent in `requests.sent`, which its types leave out.
  const sent: unknown = Reflect.get(result.requests, 'sent');
  if (result.errors + result.timeouts > 0) {
    wrong += result.errors + result.timeouts;
    firstWrong ??= `${result.errors} connection errors, ${result.timeouts} timeouts`;
  }
  return {
    responses,
    sent: typeof sent === 'number' ? Math.max(sent, responses) : responses,
    wrong,
    firstWrong,
    seconds,
    reqPerSec: responses / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
