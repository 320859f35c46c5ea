/* ontap://PROFILE/VOLUME/path/in/volume
 *
 * Parsed strictly, because the path ends up in REST bodies that ONTAP
 * resolves inside the volume: no ".." or "." components (nothing may
 * climb out of, or alias into, another directory), no empty components,
 * no control characters, no backslashes (a separator to SMB clients of
 * the same volume), and valid UTF-8 (REST bodies are JSON).  The volume
 * name follows ONTAP's rules: a letter or underscore, then letters,
 * digits and underscores, at most 203 characters (docs/ontap-client.md
 * V1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "ontap/ontap.h"

#define ONTAP_VOLNAME_MAX 203
#define ONTAP_PROFILE_MAX 64
#define ONTAP_PATH_MAX 4096
#define ONTAP_COMPONENT_MAX 255

bool
ontap_volume_name_ok (const char *s)
{
    size_t n = 0;

    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
          s[0] == '_')) {
        return false;
    }
    for (; s[n]; n++) {
        char c = s[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return n <= ONTAP_VOLNAME_MAX;
}

static bool
ontap_profile_name_ok (const char *s, size_t n)
{
    if (n == 0 || n > ONTAP_PROFILE_MAX || (n <= 2 && strspn (s, ".") == n)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid. */
static size_t
ontap_utf8_len (const unsigned char *s)
{
    unsigned need, cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        need = 1;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 2;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        need = 3;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return need + 1;
}

/* Why p is not a clean relative path, or NULL. */
static const char *
ontap_rel_path_problem (const char *p)
{
    size_t n = strlen (p);

    if (n == 0) {
        return "is empty";
    }
    if (n > ONTAP_PATH_MAX) {
        return "is too long";
    }
    if (p[0] == '/' || p[n - 1] == '/') {
        return "starts or ends with '/'";
    }
    for (size_t i = 0; i < n;) {
        size_t l = ontap_utf8_len ((const unsigned char *) p + i);

        if (l == 0) {
            return "is not valid UTF-8";
        }
        if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
            return "holds a control character or a backslash";
        }
        i += l;
    }
    for (const char *c = p; *c;) {
        size_t k = strcspn (c, "/");

        if (k == 0) {
            return "has an empty component";
        }
        if ((k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.')) {
            return "has a '.' or '..' component";
        }
        if (k > ONTAP_COMPONENT_MAX) {
            return "has a component longer than 255 bytes";
        }
        c += k + (c[k] == '/');
    }
    return NULL;
}

int
ontap_rel_path_ok (const char *p, const char *what)
{
    const char *why = ontap_rel_path_problem (p);

    if (why) {
        return set_error (EINVAL, "%s '%s' %s", what, p, why);
    }
    return 0;
}

static int
ontap_location_bad (const char *s, const char *why)
{
    return set_error (EINVAL, "bad ONTAP location '%s': %s (expected "
                      "ontap://PROFILE/VOLUME/path)", s, why);
}

int
ontap_location_parse (const char *s, struct ontap_location *out)
{
    struct ontap_location l = { 0 };
    const char *p, *slash, *why;

    if (strncmp (s, "ontap://", 8) != 0) {
        return ontap_location_bad (s, "not an ontap:// location");
    }
    p = s + 8;
    slash = strchr (p, '/');
    if (slash == NULL || !ontap_profile_name_ok (p, (size_t) (slash - p))) {
        return ontap_location_bad (s, "bad profile name");
    }
    l.profile = strndup (p, (size_t) (slash - p));
    p = slash + 1;
    slash = strchr (p, '/');
    l.volume = strndup (p, slash ? (size_t) (slash - p) : strlen (p));
    if (l.profile == NULL || l.volume == NULL) {
        ontap_location_release (&l);
        return set_error (ENOMEM, "out of memory");
    }
    if (!ontap_volume_name_ok (l.volume)) {
        ontap_location_release (&l);
        return ontap_location_bad (s, "bad volume name");
    }
    if (slash == NULL || (why = ontap_rel_path_problem (slash + 1)) != NULL) {
        ontap_location_release (&l);
        return ontap_location_bad (s, slash ? why : "no path in the volume");
    }
    if ((l.path = strdup (slash + 1)) == NULL) {
        ontap_location_release (&l);
        return set_error (ENOMEM, "out of memory");
    }
    *out = l;
    return 0;
}

void
ontap_location_release (struct ontap_location *l)
{
    free (l->profile);
    free (l->volume);
    free (l->path);
    l->profile = l->volume = l->path = NULL;
}

int
ontap_location_same_volume (const struct ontap_location *src,
                            const struct ontap_location *dst)
{
    if (strcmp (src->profile, dst->profile) != 0 ||
        strcmp (src->volume, dst->volume) != 0) {
        return set_error (EXDEV, "source 'ontap://%s/%s/%s' and target "
                          "'ontap://%s/%s/%s' are on different volumes; "
                          "ONTAP clones files only within one volume",
                          src->profile, src->volume, src->path, dst->profile,
                          dst->volume, dst->path);
    }
    return 0;
}

int
ontap_snapshot_path (const char *snapshot, const char *path, char **out)
{
    char *s = NULL;
    int r;

    if (!*snapshot || strchr (snapshot, '/') ||
        ontap_rel_path_problem (snapshot)) {
        return set_error (EINVAL, "bad snapshot name '%s'", snapshot);
    }
    if ((r = ontap_rel_path_ok (path, "path")) < 0) {
        return r;
    }
    if (asprintf (&s, ".snapshot/%s/%s", snapshot, path) < 0) {
        return set_error (ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}
