/* Money is exact: an amount is an integer count of the currency's minor
 * units (19.99 USD is 1999 cents, 500 JPY is 500 yen), never a float. */
#ifndef SERVER_MONEY_H
#define SERVER_MONEY_H

#include <stdint.h>

#define MONEY_TEXT_MAX 32

/* Decimal places of an ISO 4217 code (2 for USD, 0 for JPY, 3 for KWD),
 * or -1 when the code is not an active ISO 4217 currency. */
int money_exponent(const char *code);

/* Parses a plain decimal ("19.99", "5", "0.5") with at most `exponent`
 * fractional digits into minor units. Returns 0, or -1 with *why set to a
 * static explanation. */
int money_parse(const char *s, int exponent, int64_t *minor, const char **why);

/* Minor units back to the decimal text money_parse reads. */
void money_format(int64_t minor, int exponent, char out[MONEY_TEXT_MAX]);

#endif
