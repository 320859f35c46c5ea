/* libFuzzer harness: the nfs:// location parser of the NFS backend
 * (be_nfs_url_parse in engine/backend/nfs.c: server, export path and the
 * strict version/nfsport/mountport query).  The function is static, so
 * nfs.c is built in here; the archive's nfs.o is then never pulled in.
 * Input: the URL (NUL-terminated copy). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend/nfs.c"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct be_nfs_url u;
    char *s = malloc (size + 1);

    if (s == NULL) {
        return 0;
    }
    memcpy (s, data, size);
    s[size] = '\0';
    if (be_nfs_url_parse (s, &u) == 0) {
        /* Accepted URLs keep the parser's promises. */
        if (u.host[0] == '\0' || strchr (u.host, '/') || strchr (u.host, '@') ||
            u.path[0] != '/' || strchr (u.path, '?')) {
            abort ();
        }
    }
    free (s);
    return 0;
}
