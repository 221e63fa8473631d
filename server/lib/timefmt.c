/* RFC 3339 timestamps (see timefmt.h). gmtime_r takes glibc's time zone
 * lock and converts through struct tm; with printf on top it was a
 * visible share of every CREATE. The date here comes from plain integer
 * arithmetic on days, checked against gmtime in tests/unit/test_timefmt.c. */
#include "timefmt.h"

#include <string.h>
#include <time.h>

#define MS_PER_DAY 86400000LL
/* Days in 400 Gregorian years: the calendar repeats after them. */
#define DAYS_PER_ERA 146097
/* Days from 0000-03-01 to 1970-01-01, counting years from March so that
 * the leap day falls at the end of a year. */
#define EPOCH_FROM_MARCH_0 719468
/* The years arithmetic covers: four digits, as the format has. */
#define FIRST_MS (-62167219200000LL)   /* 0000-01-01T00:00:00.000Z */
#define LAST_MS 253402300799999LL      /* 9999-12-31T23:59:59.999Z */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Writes n decimal digits of v, zero-padded, at p. */
static char *put_digits(char *p, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS" at out (19 bytes). */
static void put_fields(char *out, int year, int month, int day, int secs_of_day)
{
    char *p = out;
    p = put_digits(p, year, 4);
    *p++ = '-';
    p = put_digits(p, month, 2);
    *p++ = '-';
    p = put_digits(p, day, 2);
    *p++ = 'T';
    p = put_digits(p, secs_of_day / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs_of_day / 60 % 60, 2);
    *p++ = ':';
    put_digits(p, secs_of_day % 60, 2);
}

/* The date and time of day of second sec, for sec within FIRST_MS..LAST_MS. */
static void put_second(char *out, int64_t sec)
{
    int64_t days = floor_div(sec, 86400);
    int secs_of_day = (int)(sec - days * 86400);
    /* Count days from 0000-03-01: a year then runs March to February, so
     * every month but the last has a fixed length and the leap day, when
     * there is one, is the year's last day. */
    int64_t z = days + EPOCH_FROM_MARCH_0;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int day_of_era = (int)(z - era * DAYS_PER_ERA);                    /* 0..146096 */
    /* Years of 365 days, less the leap days before day_of_era (every 4th
     * year, not every 100th, but every 400th). */
    int year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                       day_of_era / 146096) / 365;                       /* 0..399 */
    int day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 -
                                    year_of_era / 100);                  /* 0..365 */
    /* March-based months run 31 30 31 30 31 31 30 31 30 31 31 (then
     * February): 153 days every 5 months. */
    int month_from_march = (5 * day_of_year + 2) / 153;                  /* 0..11 */
    int day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    int month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
    int year = (int)(era * 400) + year_of_era + (month <= 2);
    put_fields(out, year, month, day, secs_of_day);
}

/* Outside 0000..9999: what orderd always printed there, through gmtime. */
static void put_second_gmtime(char *out, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    memset(&tm, 0, sizeof tm);  /* gmtime_r fails past int years */
    gmtime_r(&t, &tm);
    put_fields(out, (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
               tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
}

/* ".mmmZ" and the NUL after the second's 19 bytes. */
static void put_millis(char *out, int millis)
{
    out[19] = '.';
    put_digits(out + 20, millis, 3);
    out[23] = 'Z';
    out[24] = '\0';
}

void timefmt_rfc3339(int64_t ms, char out[TIMEFMT_LEN])
{
    int64_t sec = floor_div(ms, 1000);
    if (ms >= FIRST_MS && ms <= LAST_MS)
        put_second(out, sec);
    else
        put_second_gmtime(out, sec);
    put_millis(out, (int)(ms - sec * 1000));
}

void timefmt_init(struct timefmt *tf)
{
    memset(tf, 0, sizeof *tf);
}

void timefmt_format(struct timefmt *tf, int64_t ms, char out[TIMEFMT_LEN])
{
    int64_t sec = floor_div(ms, 1000);
    if (!tf->valid || tf->sec != sec) {
        timefmt_rfc3339(ms, tf->text);
        tf->sec = sec;
        tf->valid = true;
    } else {
        put_millis(tf->text, (int)(ms - sec * 1000));
    }
    memcpy(out, tf->text, TIMEFMT_LEN);
}
