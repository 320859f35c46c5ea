#include <stdio.h>
#include <unistd.h>

#include "engine/base/host.h"

void
vs_host_name (char *buf, size_t n)
{
    if (n == 0) {
        return;
    }
    if (gethostname (buf, n) < 0) {
        snprintf (buf, n, "host");
    }
    buf[n - 1] = '\0';
    for (char *p = buf; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-')) {
            *p = '-';
        }
    }
}
