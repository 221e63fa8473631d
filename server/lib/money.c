/* Amount parsing and formatting, and the ISO 4217 currency table. */
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Active ISO 4217 codes with their minor-unit exponent. Most currencies
 * have 2; the others are listed by exponent so the table stays readable.
 * Each list stays in alphabetical order: in_list searches it by halves. */
static const char currencies_2[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
    "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES "
    "WST XCD YER ZAR ZMW ZWL";
static const char currencies_0[] =
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
static const char currencies_3[] = "BHD IQD JOD KWD LYD OMR TND";

/* list is len bytes of codes in alphabetical order, separated by single
 * spaces: a binary search over its 4-byte steps. Every CREATE and every
 * order it shows looks its currency up, and a walk through the 2-decimal
 * list (USD near its end) was 2% of a CREATE. */
static int in_list(const char *list, size_t len, const char *code)
{
    size_t lo = 0, hi = (len + 1) / 4;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(list + mid * 4, code, 3);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

#define IN_LIST(list, code) in_list(list, sizeof list - 1, code)

int money_exponent(const char *code)
{
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return -1;
    if (code[3] != '\0')
        return -1;
    if (IN_LIST(currencies_2, code))
        return 2;
    if (IN_LIST(currencies_0, code))
        return 0;
    if (IN_LIST(currencies_3, code))
        return 3;
    return -1;
}

int money_parse(const char *s, int exponent, int64_t *minor, const char **why)
{
    int64_t v = 0;
    int frac = -1;  /* fractional digits seen, -1 before the point */
    int digits = 0;

    if (*s == '-') {
        *why = "must not be negative";
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (frac >= 0 || digits == 0) {
                *why = "is not a decimal number";
                return -1;
            }
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9') {
            *why = "is not a decimal number";
            return -1;
        }
        if (frac >= 0 && ++frac > exponent) {
            *why = exponent == 0 ? "has decimals, but the currency has no minor unit"
                                 : "has more decimals than the currency allows";
            return -1;
        }
        int d = *p - '0';
        if (v > (INT64_MAX - d) / 10) {
            *why = "is too large";
            return -1;
        }
        v = v * 10 + d;
        digits++;
    }
    if (digits == 0 || frac == 0) {
        *why = "is not a decimal number";
        return -1;
    }
    for (int i = frac < 0 ? 0 : frac; i < exponent; i++) {
        if (v > INT64_MAX / 10) {
            *why = "is too large";
            return -1;
        }
        v *= 10;
    }
    *minor = v;
    return 0;
}

/* Digits by hand: every order shown formats its amount. */
void money_format(int64_t minor, int exponent, char out[MONEY_TEXT_MAX])
{
    if (minor < 0 || exponent < 0 || exponent > 18) {
        /* Never an amount money_parse made: printed as it always was. */
        int64_t scale = 1;
        for (int i = 0; i < exponent; i++)
            scale *= 10;
        if (exponent == 0)
            snprintf(out, MONEY_TEXT_MAX, "%lld", (long long)minor);
        else
            snprintf(out, MONEY_TEXT_MAX, "%lld.%0*lld", (long long)(minor / scale),
                     exponent, (long long)(minor % scale));
        return;
    }
    /* Right to left: the fractional digits, the point, then the whole
     * part (at least one digit). */
    char tmp[MONEY_TEXT_MAX];
    char *p = tmp + sizeof tmp;
    uint64_t v = (uint64_t)minor;
    for (int i = 0; i < exponent; i++) {
        *--p = (char)('0' + v % 10);
        v /= 10;
    }
    if (exponent > 0)
        *--p = '.';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    out[n] = '\0';
}
