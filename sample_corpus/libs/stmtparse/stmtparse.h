/*
 * stmtparse: a small, allocation-light parser for bank statement files (BAI2, MT940,
 * CAMT.053, CSV). Used by the Ledgerline gateway through cgo.
 *
 * Amounts are integer minor units (cents) in int64_t; money is never a double.
 */
#ifndef STMTPARSE_H
#define STMTPARSE_H

#include <stddef.h>
#include <stdint.h>

#define STMT_MAX_LINES 200000
#define STMT_REF_LEN 36

typedef enum {
    STMT_OK = 0,
    STMT_ERR_FORMAT = 1,   /* format not recognised */
    STMT_ERR_SYNTAX = 2,   /* malformed record */
    STMT_ERR_TOTALS = 3,   /* control totals do not add up */
    STMT_ERR_TOO_MANY = 4, /* more than STMT_MAX_LINES lines */
    STMT_ERR_NOMEM = 5
} stmt_status;

typedef enum { STMT_BAI2, STMT_MT940, STMT_CAMT053, STMT_CSV, STMT_UNKNOWN } stmt_format;

typedef struct {
    int32_t value_date;  /* days since 1970-01-01, a calendar date, no time zone */
    int32_t booking_date;
    int64_t amount_minor;  /* signed: credits positive, debits negative */
    char currency[4];
    char end_to_end_ref[STMT_REF_LEN];
    char bank_ref[STMT_REF_LEN];
} stmt_line;

typedef struct {
    stmt_format format;
    size_t n_lines;
    stmt_line *lines;
    int64_t opening_balance_minor;
    int64_t closing_balance_minor;
} stmt_statement;

stmt_format stmt_detect(const char *data, size_t len);
stmt_status stmt_parse(const char *data, size_t len, stmt_statement *out);
void stmt_free(stmt_statement *st);
const char *stmt_strerror(stmt_status status);
const char *stmt_format_name(stmt_format format);

/* amount.c */
int stmt_parse_amount(const char *s, size_t len, int implied_decimals, int64_t *out);
int32_t stmt_days_from_civil(int y, unsigned m, unsigned d);

/* format-specific parsers */
stmt_status stmt_parse_bai2(const char *data, size_t len, stmt_statement *out);
stmt_status stmt_parse_mt940(const char *data, size_t len, stmt_statement *out);

#endif
