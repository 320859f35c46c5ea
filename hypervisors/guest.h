/* Guest network preparation scripts: the network map's guest part, its
 * validation, and rendering of the scripts in hypervisors/guest/ with
 * the per-VM values baked in.  Pure code: no I/O (docs/guest-network.md).
 *
 * Every value that reaches a script is validated here against a strict
 * grammar (addresses with inet_pton, names and domains by character
 * class) and then quoted for the script's language, so neither a bad
 * map nor a hostile one can inject commands.
 */
#ifndef VMSHIFT_HV_GUEST_H
#define VMSHIFT_HV_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on what a map may hold (each refused with -EFBIG past it). */
#define HV_GUEST_MAX_NICS 64
#define HV_GUEST_MAX_ADDRS 32
#define HV_GUEST_MAX_DNS 16
#define HV_GUEST_MAX_SEARCH 16
#define HV_GUEST_MAX_ROUTES 64
#define HV_GUEST_MAX_NETWORKS 256
#define HV_GUEST_NAME_MAX 64
#define HV_GUEST_MAX_SCRIPT (1024 * 1024)

enum hv_guest_os { HV_GUEST_LINUX = 1, HV_GUEST_WINDOWS = 2 };

enum hv_guest_mode {
    HV_GUEST_MODE_UNSET = 0,
    HV_GUEST_MODE_RETAIN,       /* keep the static settings, new names */
    HV_GUEST_MODE_DHCP,         /* switch the interfaces to DHCP */
    HV_GUEST_MODE_KEEP,         /* leave the network alone */
    HV_GUEST_MODE_SCRIPT,       /* run the administrator's script */
};

enum hv_guest_reboot {
    HV_GUEST_REBOOT_UNSET = 0,
    HV_GUEST_REBOOT_AUTO,       /* once, when the stack needs it */
    HV_GUEST_REBOOT_ALWAYS,     /* once, whenever something changed */
    HV_GUEST_REBOOT_NEVER,
};

struct hv_guest_route {
    char to[64];                /* "10.9.0.0/16" (canonical), never default */
    char via[48];               /* "" = on-link */
    int family;                 /* 4 or 6 */
    int64_t metric;             /* -1 = unset */
};

/* One interface override ("guest.nics[]"): matched in the guest by the
 * old MAC or the old name; every list given replaces the recorded one. */
struct hv_guest_nic {
    char mac[18];               /* "00:50:56:aa:bb:cc" or "" */
    char name[HV_GUEST_NAME_MAX + 1];   /* "" = match by MAC only */
    int dhcp;                   /* -1 unset, 0 static, 1 DHCP */
    size_t naddrs, ndns, nsearch, nroutes;
    char addrs[HV_GUEST_MAX_ADDRS][52];         /* "addr/prefix" */
    char gw4[16];
    char gw6[46];
    char dns[HV_GUEST_MAX_DNS][46];
    char search[HV_GUEST_MAX_SEARCH][254];
    uint32_t mtu;               /* 0 = unset */
    struct hv_guest_route routes[HV_GUEST_MAX_ROUTES];
};

struct hv_guest_map {
    int retain_mac;             /* -1 unset, 0, 1 */
    enum hv_guest_mode mode;
    int remove_tools;           /* -1 unset, 0, 1 */
    enum hv_guest_reboot reboot;
    char hook[16];              /* Linux boot hook, "" = auto */
    size_t nnetworks;           /* "networks" entries (checked, not used) */
    size_t nnics;
    struct hv_guest_nic *nics;
};

/* Parse a network map (JSON, see docs/guest-network.md).  'what' names
 * the input in errors.  Unknown keys at the top level are left to other
 * readers of the map; inside "guest" they are errors.  Free with
 * hv_guest_map_free(). */
int hv_guest_map_parse (const char *buf, size_t len, const char *what,
                        struct hv_guest_map **out);
void hv_guest_map_free (struct hv_guest_map *m);
/* An empty map (no overrides, everything unset). */
struct hv_guest_map *hv_guest_map_new (void);

int hv_guest_mode_from_name (const char *s, enum hv_guest_mode *out);
const char *hv_guest_mode_name (enum hv_guest_mode m);
int hv_guest_reboot_from_name (const char *s, enum hv_guest_reboot *out);

/* Validators (0 or -EINVAL with a message naming 'what').  *_canon write
 * the canonical text form into out (size outsz). */
int hv_guest_check_mac (const char *s, const char *what, char *out,
                        size_t outsz);
int hv_guest_check_ip (const char *s, int family, const char *what,
                       char *out, size_t outsz);
/* "address/prefix"; *family 4 or 6, *prefix the length.  With
 * network set the host bits must be zero (route destinations). */
int hv_guest_check_cidr (const char *s, const char *what, bool network,
                         int *family, int *prefix, char *out, size_t outsz);
int hv_guest_check_domain (const char *s, const char *what);
/* Interface names: Linux 1-15 of [A-Za-z0-9_.-]; Windows 1-64 of
 * [A-Za-z0-9 _.()#-] without outer spaces; os 0 accepts either. */
int hv_guest_check_name (const char *s, int os, const char *what);

/* What the renderer bakes into a script. */
struct hv_guest_cfg {
    enum hv_guest_os os;
    enum hv_guest_mode mode;    /* UNSET = retain */
    int retain_mac;             /* -1 = auto */
    int remove_tools;           /* -1 = yes */
    enum hv_guest_reboot reboot;        /* UNSET = auto */
    const char *hook;           /* NULL or "" = auto */
    const struct hv_guest_nic *nics;
    size_t nnics;
    const char *admin_script;   /* mode script: the script text */
    size_t admin_script_len;
};

/* Render script SRC (LEN bytes, named NAME in errors): the block between
 * "# >>> vmshift settings" and "# <<< vmshift settings" is rewritten with
 * the values of CFG; the rest is copied.  *out (caller frees) is
 * NUL-terminated; *outlen its length. */
int hv_guest_render (const char *src, size_t len, const char *name,
                     const struct hv_guest_cfg *cfg, char **out,
                     size_t *outlen);

/* The script sources, embedded at build time (generated from
 * hypervisors/guest/ by hypervisors/guest/embed.sh). */
struct hv_guest_file {
    const char *name;           /* "linux-prepare.sh" */
    const unsigned char *data;
    size_t len;
};
extern const struct hv_guest_file hv_guest_files[];
extern const size_t hv_guest_nfiles;

/* The embedded file NAME, or NULL. */
const struct hv_guest_file *hv_guest_file (const char *name);

#endif
