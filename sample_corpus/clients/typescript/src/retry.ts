/** Retry with exponential backoff for 429 and 5xx responses, as docs/api/errors.rst asks. */

export const RETRYABLE = new Set([429, 500, 502, 503, 504]);

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, initialDelayMs: 1000 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Delay before attempt n (1-based): Retry-After if the server sent one, else 1 s, 2 s, 4 s… */
export const backoffDelay = (attempt: number, opts: RetryOptions, retryAfter?: string | null): number => {
  if (retryAfter && /^\d+$/.test(retryAfter)) {
    return Number(retryAfter) * 1000;
  }
  return opts.initialDelayMs * 2 ** (attempt - 1);
};

export async function withRetry(send: () => Promise<Response>, opts: RetryOptions = DEFAULT_RETRY): Promise<Response> {
  let last: Response | undefined;
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    last = await send();
    if (!RETRYABLE.has(last.status)) {
      return last;
    }
    if (attempt < opts.attempts) {
      await sleep(backoffDelay(attempt, opts, last.headers.get("Retry-After")));
    }
  }
  return last as Response;
}
