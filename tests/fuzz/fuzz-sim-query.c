/* libFuzzer harness: ontap-sim's query filter operators and fields=
 * check (tools/ontap-sim/filter.c and fields.c, built in here because
 * the simulator is not part of libvmshift).  Input: a filter pattern, a
 * newline, and the value it is matched against; the whole input is also
 * checked as a fields= list for every resource. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ontap-sim/fields.c"
#include "tools/ontap-sim/filter.c"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *const res[] = { "cluster", "svm", "volume",
                                        "snapshot", "qtree", "job", "other" };
    char *s = malloc (size + 1), *nl;
    const char *bad;
    size_t badlen;

    if (s == NULL) {
        return 0;
    }
    memcpy (s, data, size);
    s[size] = '\0';
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++) {
        if (sim_fields_validate (res[i], s, &bad, &badlen) < 0 &&
            (bad < s || bad + badlen > s + strlen (s) || badlen == 0)) {
            abort ();           /* the bad name lies inside the list */
        }
    }
    nl = strchr (s, '\n');
    if (nl) {
        *nl = '\0';
        (void) sim_filter_value (nl + 1, s);
    } else {
        (void) sim_filter_value (s, s);
    }
    free (s);
    return 0;
}
