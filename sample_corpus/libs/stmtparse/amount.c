#include <ctype.h>
#include <stdint.h>

#include "stmtparse.h"

/*
 * Parses an amount into minor units. MT940 uses a decimal comma ("1250,5"), BAI2 has no
 * separator and implied decimals ("125050" with implied_decimals = 2).
 * Returns 0 on success, -1 on a malformed amount or overflow.
 */
int stmt_parse_amount(const char *s, size_t len, int implied_decimals, int64_t *out)
{
    int64_t value = 0;
    int decimals = -1;
    size_t i = 0;
    int negative = 0;

    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        negative = s[0] == '-';
        i = 1;
    }
    for (; i < len; i++) {
        char c = s[i];
        if (c == ',' || c == '.') {
            if (decimals >= 0)
                return -1;
            decimals = 0;
            continue;
        }
        if (!isdigit((unsigned char)c))
            return -1;
        if (value > (INT64_MAX - 9) / 10)
            return -1;
        value = value * 10 + (c - '0');
        if (decimals >= 0 && ++decimals > 2)
            return -1;
    }
    if (decimals < 0) {
        decimals = implied_decimals;
        for (int k = decimals; k < 2; k++)
            value *= 10;
    } else {
        for (int k = decimals; k < 2; k++)
            value *= 10;
    }
    *out = negative ? -value : value;
    return 0;
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
int32_t stmt_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}
