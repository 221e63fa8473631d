/* Amount parsing and formatting, and the ISO 4217 currency table. */
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Active ISO 4217 codes with their minor-unit exponent. Most currencies
 * have 2; the others are listed by exponent so the table stays readable. */
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

/* list is codes separated by single spaces. */
static int in_list(const char *list, const char *code)
{
    size_t len = strlen(list);
    for (size_t i = 0; i + 3 <= len; i += 4)
        if (memcmp(list + i, code, 3) == 0)
            return 1;
    return 0;
}

int money_exponent(const char *code)
{
    if (strlen(code) != 3)
        return -1;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return -1;
    if (in_list(currencies_2, code))
        return 2;
    if (in_list(currencies_0, code))
        return 0;
    if (in_list(currencies_3, code))
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

void money_format(int64_t minor, int exponent, char out[MONEY_TEXT_MAX])
{
    int64_t scale = 1;
    for (int i = 0; i < exponent; i++)
        scale *= 10;
    if (exponent == 0)
        snprintf(out, MONEY_TEXT_MAX, "%lld", (long long)minor);
    else
        snprintf(out, MONEY_TEXT_MAX, "%lld.%0*lld", (long long)(minor / scale),
                 exponent, (long long)(minor % scale));
}
