#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/error.h"
#include "engine/base/file.h"

int
vs_read_file (const char *path, size_t max, char **buf, size_t *len)
{
    struct stat st;
    size_t n = 0;
    char *b;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        return set_error (errno, "cannot open '%s': %s", path,
                          strerror (errno));
    }
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) ||
        (uint64_t) st.st_size > max) {
        close (fd);
        return set_error (EINVAL, "'%s' is not a regular file of at most %zu "
                          "bytes", path, max);
    }
    if ((b = malloc ((size_t) st.st_size + 1)) == NULL) {
        close (fd);
        return set_error (ENOMEM, "out of memory reading '%s'", path);
    }
    while (n < (size_t) st.st_size) {
        ssize_t k = read (fd, b + n, (size_t) st.st_size - n);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;

            free (b);
            close (fd);
            return set_error (e, "cannot read '%s': %s", path, strerror (e));
        }
        n += (size_t) k;
    }
    close (fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}
