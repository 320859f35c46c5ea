/* dlopen() of the optional libraries (engine/base/dl.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/dl.h"
#include "engine/base/error.h"

static pthread_mutex_t vs_dl_lock = PTHREAD_MUTEX_INITIALIZER;

/* The test hook: is SONAME listed in VMSHIFT_TEST_DL_HIDE? */
static int
vs_dl_hidden (const char *soname)
{
    const char *v = secure_getenv ("VMSHIFT_TEST_DL_HIDE");
    size_t n = strlen (soname);

    while (v && *v) {
        size_t w;

        v += strspn (v, " ,");
        w = strcspn (v, " ,");
        if (w == n && memcmp (v, soname, n) == 0) {
            return 1;
        }
        v += w;
    }
    return 0;
}

static int
vs_dl_open (struct vs_dl_lib *lib)
{
    char name[128];
    void *h;

    snprintf (name, sizeof name, "%s%s", lib->soname,
              vs_dl_hidden (lib->soname) ? ".hidden-by-test" : "");
    h = dlopen (name, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        snprintf (lib->err, sizeof lib->err,
                  "%s is not installed (cannot load %s, needed for %s): "
                  "apt-get install %s", lib->package, lib->soname,
                  lib->purpose, lib->package);
        return -ELIBACC;
    }
    for (size_t i = 0; i < lib->n_syms; i++) {
        void *p = dlsym (h, lib->syms[i].name);

        if (p == NULL) {
            snprintf (lib->err, sizeof lib->err,
                      "%s has no '%s' (too old? needed for %s): "
                      "apt-get install %s", lib->soname, lib->syms[i].name,
                      lib->purpose, lib->package);
            for (size_t j = 0; j < i; j++) {
                *lib->syms[j].ptr = NULL;
            }
            /* the handle stays open: dlclose() of a half-used library
             * buys nothing and some libraries do not unload cleanly */
            return -ELIBACC;
        }
        *lib->syms[i].ptr = p;
    }
    return 1;
}

int
vs_dl_load (struct vs_dl_lib *lib)
{
    int st = __atomic_load_n (&lib->state, __ATOMIC_ACQUIRE);

    if (st == 0) {
        pthread_mutex_lock (&vs_dl_lock);
        st = lib->state;
        if (st == 0) {
            st = vs_dl_open (lib);
            __atomic_store_n (&lib->state, st, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock (&vs_dl_lock);
    }
    if (st < 0) {
        return set_error (-st, "%s", lib->err);
    }
    return 0;
}
