/* Location helpers shared by every workflow. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/backend/backend.h"
#include "engine/base/error.h"
#include "engine/handle.h"
#include "engine/location.h"

enum loc_kind
vs_loc_kind_of (const char *location)
{
    if (strncmp (location, "nfs://", 6) == 0) {
        return LOC_NFS;
    }
    if (strncmp (location, "ontap://", 8) == 0) {
        return LOC_ONTAP;
    }
    return LOC_LOCAL;
}

static int
loc_read_local (const char *path, size_t max, char **buf, size_t *len)
{
    struct stat st;
    size_t done = 0;
    char *p;
    int fd;

    /* O_NONBLOCK: a FIFO is refused below instead of blocking open() */
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return set_error (errno, "cannot open '%s': %s", path,
                          strerror (errno));
    }
    if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
        close (fd);
        return set_error (EINVAL, "'%s' is not a regular file", path);
    }
    if ((uint64_t) st.st_size > max) {
        close (fd);
        return set_error (EFBIG, "'%s' is %lld bytes, more than the %zu "
                          "allowed", path, (long long) st.st_size, max);
    }
    p = malloc ((size_t) st.st_size + 1);
    if (p == NULL) {
        close (fd);
        return set_error (ENOMEM, "out of memory reading '%s'", path);
    }
    while (done < (size_t) st.st_size) {
        ssize_t r = read (fd, p + done, (size_t) st.st_size - done);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;

            free (p);
            close (fd);
            return set_error (e, "cannot read '%s': %s", path, strerror (e));
        }
        done += (size_t) r;
    }
    close (fd);
    p[done] = '\0';
    *buf = p;
    *len = done;
    return 0;
}

static int
loc_read_file (struct be_file *f, const char *location, size_t max,
               char **buf, size_t *len)
{
    int64_t size = backend_get_size (f);
    char *p;
    int r;

    if (size < 0) {
        return (int) size;
    }
    if ((uint64_t) size > max) {
        return set_error (EFBIG, "'%s' is %lld bytes, more than the %zu "
                          "allowed", location, (long long) size, max);
    }
    p = malloc ((size_t) size + 1);
    if (p == NULL) {
        return set_error (ENOMEM, "out of memory reading '%s'", location);
    }
    r = backend_pread (f, p, (size_t) size, 0);
    if (r < 0) {
        free (p);
        return r;
    }
    p[size] = '\0';
    *buf = p;
    *len = (size_t) size;
    return 0;
}

int
vs_loc_open (struct vmshift_handle *h, const char *location,
          struct loc_handle *out)
{
    memset (out, 0, sizeof *out);
    switch (vs_loc_kind_of (location)) {
    case LOC_LOCAL:
        out->be = be_local_new (h ? &h->log : NULL);
        out->path = strdup (location);
        if (out->be == NULL || out->path == NULL) {
            vs_loc_close (out);
            return set_error (ENOMEM, "out of memory");
        }
        return 0;
    case LOC_NFS:
        return be_nfs_open_location (h ? &h->log : NULL, location, &out->be,
                                     &out->path);
    default:
        return vs_loc_ontap_open (h, location, out);
    }
}

void
vs_loc_close (struct loc_handle *l)
{
    backend_free (l->be);
    free (l->path);
    vs_loc_ontap_free (l->ontap);
    memset (l, 0, sizeof *l);
}

int
vs_loc_read_whole_be (struct backend *be, const char *path,
                      const char *location, size_t max, char **buf,
                      size_t *len)
{
    struct be_file *f = NULL;
    int r = backend_open (be, path, BE_RDONLY, &f);

    if (r == 0) {
        r = loc_read_file (f, location, max, buf, len);
        backend_close (f);
    }
    return r;
}

int
vs_loc_read_whole (struct vmshift_handle *h, const char *location, size_t max,
                char **buf, size_t *len)
{
    struct loc_handle l;
    struct be_file *f = NULL;
    int r;

    if (vs_loc_kind_of (location) == LOC_LOCAL) {
        return loc_read_local (location, max, buf, len);
    }
    r = vs_loc_open (h, location, &l);
    if (r < 0) {
        return r;
    }
    r = backend_open (l.be, l.path, BE_RDONLY, &f);
    if (r == 0) {
        r = loc_read_file (f, location, max, buf, len);
        backend_close (f);
    }
    vs_loc_close (&l);
    return r;
}
