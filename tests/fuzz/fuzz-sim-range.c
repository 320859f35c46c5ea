/* libFuzzer harness: ontap-sim's sub-file clone range parser and overlap
 * rules (tools/ontap-sim/ranges.c, built in here because the simulator
 * is not part of libvmshift).  Input: range strings separated by '\n';
 * a first byte of '=' marks source and destination as the same file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ontap-sim/ranges.c"

#define FUZZ_MAX_RANGES 64

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct sim_range r[FUZZ_MAX_RANGES];
    char *s = malloc (size + 1), *line, *save = NULL;
    bool same = size > 0 && data[0] == '=';
    size_t n = 0;

    if (s == NULL) {
        return 0;
    }
    memcpy (s, data, size);
    s[size] = '\0';
    for (line = strtok_r (s + same, "\n", &save); line && n < FUZZ_MAX_RANGES;
         line = strtok_r (NULL, "\n", &save)) {
        struct sim_range one;

        if (sim_range_parse (line, &one) == 0) {
            /* Accepted ranges keep their promises. */
            if (one.count == 0 || one.src + one.count < one.src ||
                (one.src + one.count) > (uint64_t) INT64_MAX / SIM_BLOCK + 1) {
                abort ();
            }
            r[n++] = one;
        }
    }
    (void) sim_ranges_check (r, n, same);
    free (s);
    return 0;
}
