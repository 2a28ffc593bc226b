#include <stdlib.h>
#include <string.h>

#include "stmtparse.h"

/* Detects the format from the first bytes of the file, never from its name. */
stmt_format stmt_detect(const char *data, size_t len)
{
    size_t skip = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        skip = 3; /* UTF-8 byte-order mark, accepted since 3.4.0 */
    data += skip;
    len -= skip;
    if (len >= 3 && memcmp(data, "01,", 3) == 0)
        return STMT_BAI2;
    if (len >= 4 && (memcmp(data, ":20:", 4) == 0 || memcmp(data, "{1:", 3) == 0))
        return STMT_MT940;
    if (len >= 5 && memcmp(data, "<?xml", 5) == 0 && memmem(data, len < 4096 ? len : 4096, "camt.053", 8))
        return STMT_CAMT053;
    if (memchr(data, ',', len < 512 ? len : 512) || memchr(data, ';', len < 512 ? len : 512))
        return STMT_CSV;
    return STMT_UNKNOWN;
}

stmt_status stmt_parse(const char *data, size_t len, stmt_statement *out)
{
    memset(out, 0, sizeof(*out));
    out->format = stmt_detect(data, len);
    switch (out->format) {
    case STMT_BAI2:
        return stmt_parse_bai2(data, len, out);
    case STMT_MT940:
        return stmt_parse_mt940(data, len, out);
    default:
        return STMT_ERR_FORMAT; /* CAMT.053 and CSV are parsed in Go */
    }
}

void stmt_free(stmt_statement *st)
{
    free(st->lines);
    st->lines = NULL;
    st->n_lines = 0;
}

const char *stmt_strerror(stmt_status status)
{
    static const char *messages[] = {
        "ok", "unrecognised statement format", "malformed record",
        "control totals do not add up", "more than 200000 lines", "out of memory",
    };
    if ((unsigned)status < sizeof(messages) / sizeof(messages[0]))
        return messages[status];
    return "unknown error";
}

const char *stmt_format_name(stmt_format format)
{
    switch (format) {
    case STMT_BAI2: return "BAI2";
    case STMT_MT940: return "MT940";
    case STMT_CAMT053: return "CAMT.053";
    case STMT_CSV: return "CSV";
    default: return "UNKNOWN";
    }
}
