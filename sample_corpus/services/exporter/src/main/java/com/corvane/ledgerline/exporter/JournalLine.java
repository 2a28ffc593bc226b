package com.corvane.ledgerline.exporter;

import java.math.BigDecimal;
import java.util.Objects;

/** One line of the GL journal: a general-ledger account, an amount and a memo. */
public record JournalLine(String glAccount, String currency, BigDecimal amount, String memo) {

    public JournalLine {
        Objects.requireNonNull(glAccount, "glAccount");
        Objects.requireNonNull(amount, "amount");
        if (currency == null || currency.length() != 3) {
            throw new IllegalArgumentException("currency must be an ISO 4217 code");
        }
        memo = memo == null ? "" : memo;
    }

    public boolean isSuspense() {
        return "9999-SUSP".equals(glAccount);
    }
}
