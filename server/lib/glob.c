/* Glob matching (see glob.h). */
#include "glob.h"

/* Matches byte c against the class starting after '[' at pat[*p]. On
 * return *p is just past the closing ']'. Returns -1 when the class never
 * closes, so the caller can take '[' literally. */
static int match_class(const char *pat, size_t plen, size_t *p, unsigned char c)
{
    size_t i = *p;
    bool negate = false, matched = false;
    if (i < plen && pat[i] == '^') {
        negate = true;
        i++;
    }
    for (;;) {
        if (i >= plen)
            return -1;
        if (pat[i] == ']')
            break;
        unsigned char lo, hi;
        if (pat[i] == '\\' && i + 1 < plen)
            i++;
        lo = (unsigned char)pat[i++];
        hi = lo;
        if (i + 1 < plen && pat[i] == '-' && pat[i + 1] != ']') {
            i++;
            if (pat[i] == '\\' && i + 1 < plen)
                i++;
            hi = (unsigned char)pat[i++];
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
        }
        if (c >= lo && c <= hi)
            matched = true;
    }
    *p = i + 1;
    return matched != negate;
}

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0;
    size_t star_p = 0, star_i = 0;
    bool have_star = false;

    while (i < slen) {
        if (p < plen) {
            char c = pat[p];
            if (c == '*') {
                while (p < plen && pat[p] == '*')
                    p++;
                if (p == plen)
                    return true;
                have_star = true;
                star_p = p;
                star_i = i;
                continue;
            }
            if (c == '?') {
                p++;
                i++;
                continue;
            }
            if (c == '[') {
                size_t q = p + 1;
                int m = match_class(pat, plen, &q, (unsigned char)s[i]);
                if (m == 1) {
                    p = q;
                    i++;
                    continue;
                }
                if (m == -1 && s[i] == '[') {
                    p++;
                    i++;
                    continue;
                }
            } else {
                if (c == '\\' && p + 1 < plen)
                    c = pat[++p];
                if (c == s[i]) {
                    p++;
                    i++;
                    continue;
                }
            }
        }
        /* Mismatch: let the last star swallow one more byte. */
        if (!have_star)
            return false;
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
