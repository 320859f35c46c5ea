/* Optional libraries, loaded on first use.
 *
 * libvmshift and the vmshift command link only the C library.  libcurl,
 * OpenSSL, libnfs, libxml2, cJSON and zlib (and SQLite, libvirt, libpq
 * for the code that needs them) are opened with dlopen() by their
 * versioned soname the first time a code path needs them, so a local
 * conversion or '--help' does not pay for loading some forty shared
 * libraries (docs/internals/dlopen.md).
 *
 * Each library has a wrapper header engine/base/dl-NAME.h.  It includes
 * the library's own header (for types and constants), declares one
 * function pointer per function vmshift calls, and renames the
 * function names to those pointers, so the calling code reads as plain
 * library calls.  Before the first call, a code path calls the loader,
 * vs_dl_NAME(), which returns 0 or -ELIBACC with a one-line message
 * naming the Debian package to install.  Only the wrapper headers may
 * include the libraries' headers (tests/lint/dl.sh).
 *
 * For tests only: VMSHIFT_TEST_DL_HIDE="libcurl.so.4 libnfs.so.13"
 * makes the loader open a name that does not exist instead of each
 * listed soname, to check the message of a missing library. */
#ifndef VMSHIFT_BASE_DL_H
#define VMSHIFT_BASE_DL_H

#include <stddef.h>

struct vs_dl_sym {
    const char *name;
    void **ptr;
};

struct vs_dl_lib {
    const char *soname;         /* "libcurl.so.4" */
    const char *package;        /* Debian package: "libcurl4" */
    const char *purpose;        /* "ONTAP REST requests" */
    const struct vs_dl_sym *syms;
    size_t n_syms;
    int state;                  /* 0 not tried, 1 loaded, -errno failed */
    char err[256];
};

/* Load LIB once (thread-safe); 0, or -ELIBACC with the error set. */
int vs_dl_load (struct vs_dl_lib *lib);

/* For the wrapper headers and their .c files. */
#define VS_DL_EXTERN(name) extern __typeof__ (name) *vs_dl_##name;
#define VS_DL_DEFINE(name) __typeof__ (name) *vs_dl_##name;
#define VS_DL_ENTRY(name) { #name, (void **) &vs_dl_##name },
#define VS_DL_LIB(var, soname, package, purpose, list)                  \
    static const struct vs_dl_sym var##_syms[] = { list (VS_DL_ENTRY) }; \
    static struct vs_dl_lib var = {                                     \
        soname, package, purpose, var##_syms,                          \
        sizeof var##_syms / sizeof var##_syms[0], 0, ""                 \
    }

#endif
