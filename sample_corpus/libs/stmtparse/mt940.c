#include <stdlib.h>
#include <string.h>

#include "stmtparse.h"

static int two_digits(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * Parses one :61: field: YYMMDD value date, optional MMDD entry date, C/D/RC/RD mark,
 * amount with decimal comma, transaction type and reference.
 * Value dates are plain calendar dates (fixed in 3.3.2: no time-zone conversion).
 */
static stmt_status parse_61(const char *p, const char *end, stmt_line *line)
{
    if (end - p < 12)
        return STMT_ERR_SYNTAX;
    int yy = two_digits(p), mm = two_digits(p + 2), dd = two_digits(p + 4);
    line->value_date = stmt_days_from_civil(2000 + yy, (unsigned)mm, (unsigned)dd);
    line->booking_date = line->value_date;
    p += 6;
    if (p + 4 <= end && p[0] >= '0' && p[0] <= '9') {
        line->booking_date = stmt_days_from_civil(2000 + yy, (unsigned)two_digits(p), (unsigned)two_digits(p + 2));
        p += 4;
    }
    int debit = 0;
    if (*p == 'R')
        p++; /* reversal marks RC/RD */
    if (*p == 'D')
        debit = 1;
    else if (*p != 'C')
        return STMT_ERR_SYNTAX;
    p++;
    const char *amount_start = p;
    while (p < end && ((*p >= '0' && *p <= '9') || *p == ','))
        p++;
    if (stmt_parse_amount(amount_start, (size_t)(p - amount_start), 2, &line->amount_minor) != 0)
        return STMT_ERR_SYNTAX;
    if (debit)
        line->amount_minor = -line->amount_minor;
    p += 4; /* transaction type, e.g. NTRF */
    size_t n = 0;
    while (p < end && *p != '/' && *p != '\n' && n < STMT_REF_LEN - 1)
        line->bank_ref[n++] = *p++;
    line->bank_ref[n] = '\0';
    return STMT_OK;
}

stmt_status stmt_parse_mt940(const char *data, size_t len, stmt_statement *out)
{
    const char *p = data, *end = data + len;
    size_t cap = 256;
    out->lines = calloc(cap, sizeof(stmt_line));
    if (!out->lines)
        return STMT_ERR_NOMEM;
    while ((p = memmem(p, (size_t)(end - p), ":61:", 4)) != NULL) {
        if (out->n_lines == STMT_MAX_LINES)
            return STMT_ERR_TOO_MANY;
        if (out->n_lines == cap) {
            cap *= 2;
            stmt_line *grown = realloc(out->lines, cap * sizeof(stmt_line));
            if (!grown)
                return STMT_ERR_NOMEM;
            out->lines = grown;
        }
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        stmt_status rc = parse_61(p + 4, eol ? eol : end, &out->lines[out->n_lines]);
        if (rc != STMT_OK)
            return rc;
        out->n_lines++;
        p += 4;
    }
    return out->n_lines ? STMT_OK : STMT_ERR_SYNTAX;
}
