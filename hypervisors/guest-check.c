/* Validators for every value that reaches a guest script.  Each accepts
 * a strict grammar and writes a canonical form, so what the scripts get
 * is plain ASCII without quotes, spaces (except Windows adapter names),
 * '$', backticks or newlines. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/hex.h"
#include "hypervisors/guest.h"

/* "00:50:56:AA:bb:cc" or "00-50-56-aa-bb-cc" -> "00:50:56:aa:bb:cc". */
int
hv_guest_check_mac (const char *s, const char *what, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    char buf[18];
    char sep;

    if (strlen (s) != 17 || outsz < sizeof buf) {
        goto bad;
    }
    sep = s[2];
    if (sep != ':' && sep != '-') {
        goto bad;
    }
    for (int i = 0; i < 6; i++) {
        int hi = vs_hex_digit (s[i * 3]);
        int lo = vs_hex_digit (s[i * 3 + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != sep)) {
            goto bad;
        }
        buf[i * 3] = hex[hi];
        buf[i * 3 + 1] = hex[lo];
        buf[i * 3 + 2] = i < 5 ? ':' : '\0';
    }
    memcpy (out, buf, sizeof buf);
    return 0;
bad:
    return set_error (EINVAL, "%s: '%.64s' is not a MAC address "
                      "(expected six hex pairs like 00:50:56:aa:bb:cc)",
                      what, s);
}

/* An IPv4 (family 4), IPv6 (6) or either (0) address in canonical form. */
int
hv_guest_check_ip (const char *s, int family, const char *what, char *out,
                   size_t outsz)
{
    unsigned char raw[16];
    char buf[INET6_ADDRSTRLEN];
    int af = strchr (s, ':') ? AF_INET6 : AF_INET;

    if ((family == 4 && af != AF_INET) || (family == 6 && af != AF_INET6)) {
        return set_error (EINVAL, "%s: '%.64s' is not an IPv%d address", what,
                          s, family);
    }
    if (strlen (s) >= sizeof buf || inet_pton (af, s, raw) != 1 ||
        inet_ntop (af, raw, buf, sizeof buf) == NULL) {
        return set_error (EINVAL, "%s: '%.64s' is not an IP address", what, s);
    }
    if (strlen (buf) >= outsz) {
        return set_error (EINVAL, "%s: '%.64s' is too long", what, s);
    }
    memcpy (out, buf, strlen (buf) + 1);
    return 0;
}

/* Clear the host bits of raw (len bytes) past prefix; 1 if any was set. */
static int
hv_guest_mask (unsigned char *raw, size_t len, int prefix)
{
    int had = 0;

    for (size_t i = 0; i < len; i++) {
        int keep = prefix - (int) i * 8;
        unsigned char m = keep >= 8 ? 0xff : keep <= 0 ? 0 :
            (unsigned char) (0xff << (8 - keep));

        had |= (raw[i] & ~m) != 0;
        raw[i] &= m;
    }
    return had;
}

int
hv_guest_check_cidr (const char *s, const char *what, bool network,
                     int *family, int *prefix, char *out, size_t outsz)
{
    char addr[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
    unsigned char raw[16];
    const char *slash = strchr (s, '/');
    size_t alen;
    int af, p = 0, max;

    if (slash == NULL || slash == s || slash[1] == '\0' ||
        strlen (slash + 1) > 3) {
        goto bad;
    }
    for (const char *c = slash + 1; *c; c++) {
        if (*c < '0' || *c > '9') {
            goto bad;
        }
        p = p * 10 + (*c - '0');
    }
    alen = (size_t) (slash - s);
    if (alen >= sizeof addr) {
        goto bad;
    }
    memcpy (addr, s, alen);
    addr[alen] = '\0';
    af = strchr (addr, ':') ? AF_INET6 : AF_INET;
    max = af == AF_INET ? 32 : 128;
    if (p > max || inet_pton (af, addr, raw) != 1) {
        goto bad;
    }
    if (network &&
        hv_guest_mask (raw, af == AF_INET ? 4 : 16, p)) {
        inet_ntop (af, raw, canon, sizeof canon);
        return set_error (EINVAL, "%s: '%.64s' has host bits set (the "
                          "network is %s/%d)", what, s, canon, p);
    }
    inet_ntop (af, raw, canon, sizeof canon);
    if ((size_t) snprintf (out, outsz, "%s/%d", canon, p) >= outsz) {
        goto bad;
    }
    *family = af == AF_INET ? 4 : 6;
    *prefix = p;
    return 0;
bad:
    return set_error (EINVAL, "%s: '%.64s' is not an address/prefix "
                      "(like 192.0.2.10/24 or 2001:db8::10/64)", what, s);
}

/* A DNS search domain: dot-separated labels of letters, digits, '-' and
 * '_', each 1-63 long, 253 in all; a final dot is allowed. */
int
hv_guest_check_domain (const char *s, const char *what)
{
    size_t len = strlen (s), label = 0;

    if (len == 0 || len > 253 || s[0] == '.') {
        goto bad;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                goto bad;
            }
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_') ||
            (label == 0 && c == '-') || ++label > 63) {
            goto bad;
        }
    }
    if (s[len - 1] == '-') {
        goto bad;
    }
    return 0;
bad:
    return set_error (EINVAL, "%s: '%.64s' is not a DNS domain name", what, s);
}

static int
hv_guest_name_char (char c, int os)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-') {
        return 1;
    }
    return os != HV_GUEST_LINUX && (c == ' ' || c == '(' || c == ')' ||
                                    c == '#');
}

int
hv_guest_check_name (const char *s, int os, const char *what)
{
    size_t len = strlen (s);
    size_t max = os == HV_GUEST_LINUX ? 15 : HV_GUEST_NAME_MAX;

    if (len == 0 || len > max || s[0] == ' ' || s[len - 1] == ' ' ||
        strcmp (s, ".") == 0 || strcmp (s, "..") == 0) {
        goto bad;
    }
    for (size_t i = 0; i < len; i++) {
        if (!hv_guest_name_char (s[i], os)) {
            goto bad;
        }
    }
    return 0;
bad:
    if (os == HV_GUEST_LINUX) {
        return set_error (EINVAL, "%s: '%.64s' is not a Linux interface name "
                          "(1-15 of letters, digits, '_', '.', '-')", what, s);
    }
    return set_error (EINVAL, "%s: '%.64s' is not an interface name (1-%d of "
                      "letters, digits, spaces and _.-()#)", what, s,
                      HV_GUEST_NAME_MAX);
}
