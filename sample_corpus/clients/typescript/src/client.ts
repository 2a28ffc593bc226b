import { withRetry, DEFAULT_RETRY, RetryOptions } from "./retry";
import type { ApiErrorBody, ExceptionCase, MatchGroup, Page, ResolveAction, Statement } from "./types";

export const DEFAULT_BASE_URL = "https://api.ledgerline.corvane.example/v2";
const TOKEN_URL = "https://auth.ledgerline.corvane.example/oauth/token";
/** Refresh the access token when fewer than this many seconds remain. */
const REFRESH_MARGIN_S = 60;

export class LedgerlineError extends Error {
  constructor(public readonly status: number, public readonly code: string, message: string,
              public readonly requestId?: string) {
    super(message);
  }
}

export interface ClientOptions {
  clientId: string;
  clientSecret: string;
  scopes: string[];
  baseUrl?: string;
  retry?: RetryOptions;
}

/**
 * Client for the Ledgerline v2 API: OAuth2 client credentials, automatic token refresh,
 * retries on 429/5xx and cursor pagination.
 */
export class LedgerlineClient {
  private token?: { value: string; expiresAt: number };
  private readonly baseUrl: string;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl ?? DEFAULT_BASE_URL;
  }

  async uploadStatement(bankCode: string, file: Uint8Array, idempotencyKey?: string): Promise<{ statement_id: string; format: string; lines: number }> {
    const headers: Record<string, string> = {
      "Content-Type": "application/octet-stream",
      "X-Ledgerline-Bank-Code": bankCode,
    };
    if (idempotencyKey) headers["X-Ledgerline-Idempotency-Key"] = idempotencyKey;
    return this.request("POST", "/statements", file, headers);
  }

  getStatement(id: string): Promise<Statement> {
    return this.request("GET", `/statements/${encodeURIComponent(id)}`);
  }

  listMatches(accountId: string, cursor?: string, pageSize = 100): Promise<Page<MatchGroup>> {
    const q = new URLSearchParams({ account_id: accountId, page_size: String(pageSize) });
    if (cursor) q.set("cursor", cursor);
    return this.request("GET", `/matches?${q}`);
  }

  listExceptions(accountId: string, cursor?: string): Promise<Page<ExceptionCase>> {
    const q = new URLSearchParams({ account_id: accountId });
    if (cursor) q.set("cursor", cursor);
    return this.request("GET", `/exceptions?${q}`);
  }

  resolveException(id: string, action: ResolveAction, comment: string, ledgerEntryIds: string[] = []): Promise<void> {
    return this.request("POST", `/exceptions/${encodeURIComponent(id)}/resolve`,
      JSON.stringify({ action, comment, ledger_entry_ids: ledgerEntryIds }), { "Content-Type": "application/json" });
  }

  /** Follows next_cursor until has_more is false. */
  async *listAll<T>(fetchPage: (cursor?: string) => Promise<Page<T>>): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.has_more ? page.next_cursor ?? undefined : undefined;
    } while (cursor);
  }

  private async accessToken(): Promise<string> {
    const now = Date.now() / 1000;
    if (this.token && this.token.expiresAt - now > REFRESH_MARGIN_S) {
      return this.token.value;
    }
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.opts.clientId,
      client_secret: this.opts.clientSecret,
      scope: this.opts.scopes.join(" "),
    });
    const res = await fetch(TOKEN_URL, { method: "POST", body });
    if (!res.ok) throw new LedgerlineError(res.status, "token_invalid", "could not obtain an access token");
    const json = (await res.json()) as { access_token: string; expires_in: number };
    this.token = { value: json.access_token, expiresAt: now + json.expires_in };
    return json.access_token;
  }

  private async request<T>(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<T> {
    const token = await this.accessToken();
    const res = await withRetry(() => fetch(this.baseUrl + path, {
      method, body, headers: { ...headers, Authorization: `Bearer ${token}` },
    }), this.opts.retry ?? DEFAULT_RETRY);
    if (!res.ok) {
      const err = (await res.json().catch(() => null)) as ApiErrorBody | null;
      throw new LedgerlineError(res.status, err?.error.code ?? "internal", err?.error.message ?? res.statusText,
        err?.error.request_id);
    }
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
}
