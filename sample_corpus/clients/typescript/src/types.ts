/** Types of the Ledgerline v2 API, as returned by the gateway. */

export type MatchPass = "exact" | "normalised" | "fuzzy" | "manual";

export type ExceptionReason = "NO_CANDIDATE" | "AMOUNT_MISMATCH" | "DUPLICATE_LINE" | "LOW_CONFIDENCE";

export type ResolveAction = "match" | "duplicate" | "book_fee" | "suspense";

export interface Statement {
  statement_id: string;
  bank_code: string;
  account_id: string;
  format: "BAI2" | "MT940" | "CAMT.053" | "CSV";
  status: "ACCEPTED" | "PUBLISHED" | "MATCHED";
  lines_parsed: number;
  lines_published: number;
}

export interface MatchGroup {
  match_id: string;
  pass: MatchPass;
  /** Between 0 and 1; 0.92 or more is booked automatically. */
  confidence: number;
  statement_line_ids: string[];
  ledger_entry_ids: string[];
  confirmed_by?: string;
}

export interface ExceptionCase {
  exception_id: string;
  account_id: string;
  reason: ExceptionReason;
  amount: string;
  currency: string;
  created_at: string;
  /** 48 hours after created_at. */
  due_at: string;
  escalated: boolean;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
  has_more: boolean;
}

export interface ApiErrorBody {
  error: { code: string; message: string; request_id?: string };
}
