#include <stdlib.h>
#include <string.h>

#include "stmtparse.h"

/* Splits a BAI2 record into comma-separated fields; the record ends with '/'. */
static int split_fields(const char *rec, const char *end, const char **fields, size_t *lens, int max)
{
    int n = 0;
    const char *start = rec;
    for (const char *p = rec; p <= end && n < max; p++) {
        if (p == end || *p == ',' || *p == '/') {
            fields[n] = start;
            lens[n] = (size_t)(p - start);
            n++;
            start = p + 1;
            if (p < end && *p == '/')
                break;
        }
    }
    return n;
}

static stmt_status parse_16(const char **f, const size_t *l, int n, stmt_line *line)
{
    int64_t amount;
    if (n < 6)
        return STMT_ERR_SYNTAX;
    if (stmt_parse_amount(f[2], l[2], 2, &amount) != 0)
        return STMT_ERR_SYNTAX;
    /* Type codes 100-399 are credits, 400-699 debits. */
    int type = atoi(f[1]);
    line->amount_minor = type >= 400 ? -amount : amount;
    size_t rl = l[4] < STMT_REF_LEN - 1 ? l[4] : STMT_REF_LEN - 1;
    memcpy(line->bank_ref, f[4], rl);
    line->bank_ref[rl] = '\0';
    size_t el = l[5] < STMT_REF_LEN - 1 ? l[5] : STMT_REF_LEN - 1;
    memcpy(line->end_to_end_ref, f[5], el);
    line->end_to_end_ref[el] = '\0';
    return STMT_OK;
}

stmt_status stmt_parse_bai2(const char *data, size_t len, stmt_statement *out)
{
    const char *p = data, *end = data + len;
    int64_t sum = 0, control = 0;
    size_t cap = 256;
    out->lines = calloc(cap, sizeof(stmt_line));
    if (!out->lines)
        return STMT_ERR_NOMEM;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *rec_end = eol ? eol : end;
        const char *f[16];
        size_t l[16];
        int n = split_fields(p, rec_end, f, l, 16);
        if (n > 0 && l[0] == 2 && memcmp(f[0], "16", 2) == 0) {
            if (out->n_lines == cap) {
                cap *= 2;
                stmt_line *grown = realloc(out->lines, cap * sizeof(stmt_line));
                if (!grown)
                    return STMT_ERR_NOMEM;
                out->lines = grown;
            }
            stmt_status rc = parse_16(f, l, n, &out->lines[out->n_lines]);
            if (rc != STMT_OK)
                return rc;
            sum += out->lines[out->n_lines].amount_minor;
            out->n_lines++;
        } else if (n > 1 && l[0] == 2 && memcmp(f[0], "49", 2) == 0) {
            if (stmt_parse_amount(f[1], l[1], 2, &control) != 0)
                return STMT_ERR_SYNTAX;
        }
        p = rec_end + 1;
    }
    if (control != 0 && control != sum)
        return STMT_ERR_TOTALS;
    return STMT_OK;
}
