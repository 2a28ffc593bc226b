import type { ExceptionCase, ExceptionReason } from "../types";

const REASON_LABELS: Record<ExceptionReason, string> = {
  NO_CANDIDATE: "No candidate",
  AMOUNT_MISMATCH: "Amount mismatch",
  DUPLICATE_LINE: "Duplicate line",
  LOW_CONFIDENCE: "Low confidence",
};

export const reasonLabel = (reason: ExceptionReason): string => REASON_LABELS[reason] ?? reason;

/** Hours until a case escalates; negative once it is overdue (48 hours after creation). */
export const hoursUntilEscalation = (c: ExceptionCase, now: Date = new Date()): number =>
  (Date.parse(c.due_at) - now.getTime()) / 3_600_000;

export const isOverdue = (c: ExceptionCase, now?: Date) => hoursUntilEscalation(c, now) < 0;

export const sortForAnalyst = (cases: ExceptionCase[]): ExceptionCase[] =>
  [...cases].sort((a, b) => Number(b.escalated) - Number(a.escalated)
    || Number(b.amount) - Number(a.amount)
    || a.created_at.localeCompare(b.created_at));

export function formatAmount(amount: string, currency: string, locale = "en-GB"): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
}

export class ExceptionTable {
  private rows: ExceptionCase[] = [];

  constructor(private readonly root: HTMLElement, private readonly onOpen: (id: string) => void) {}

  render(cases: ExceptionCase[]): void {
    this.rows = sortForAnalyst(cases);
    this.root.innerHTML = "";
    const table = document.createElement("table");
    table.className = "ldg-exceptions";
    this.rows.forEach((c) => {
      const tr = table.insertRow();
      tr.dataset.id = c.exception_id;
      tr.classList.toggle("overdue", isOverdue(c));
      tr.insertCell().textContent = reasonLabel(c.reason);
      tr.insertCell().textContent = formatAmount(c.amount, c.currency);
      tr.insertCell().textContent = c.escalated ? "Escalated" : `${Math.max(0, Math.round(hoursUntilEscalation(c)))} h left`;
      tr.addEventListener("click", () => this.onOpen(c.exception_id));
    });
    this.root.appendChild(table);
  }

  overdueCount = (): number => this.rows.filter((c) => isOverdue(c)).length;
}
