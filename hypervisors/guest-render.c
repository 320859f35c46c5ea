/* Render a guest script with the per-VM values baked in.
 *
 * Each script source in hypervisors/guest/ carries a settings block:
 *
 *   # >>> vmshift settings (...)
 *   VS_MODE='retain'                     (POSIX sh)
 *   $VsMode = 'retain'                   (PowerShell)
 *   # <<< vmshift settings
 *
 * Only the assignments inside the block are rewritten, one per known
 * name; an unknown name is an error, so a script and the renderer cannot
 * drift apart silently.  Values are validated before they get here and
 * quoted again on the way out: single quotes in sh ('\'' for a quote),
 * single quotes in PowerShell (a quote doubled; anything but printable
 * ASCII refused, because PowerShell also treats the Unicode quotation
 * marks U+2018-U+201B as quotes).  The administrator's script goes into
 * a quoted here-document (sh) or base64 (PowerShell): neither expands
 * anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/base/sbuf.h"
#include "hypervisors/guest.h"

#define HV_BEGIN "# >>> vmshift settings"
#define HV_END "# <<< vmshift settings"

struct hv_render {
    struct sbuf *b;
    const struct hv_guest_cfg *cfg;
    const char *name;           /* script name for messages */
    int ps;                     /* PowerShell (else sh) */
};

static void
hv_sh_quote (struct sbuf *b, const char *s)
{
    vs_sbuf_addch (b, '\'');
    for (; *s; s++) {
        if (*s == '\'') {
            vs_sbuf_addstr (b, "'\\''");
        } else {
            vs_sbuf_addch (b, *s);
        }
    }
    vs_sbuf_addch (b, '\'');
}

static int
hv_ps_quote (struct sbuf *b, const char *s)
{
    vs_sbuf_addch (b, '\'');
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;

        if (c < 0x20 || c > 0x7e) {
            return set_error (EINVAL, "value '%.64s' has a character "
                              "PowerShell quoting cannot carry", s);
        }
        if (c == '\'') {
            vs_sbuf_addch (b, '\'');
        }
        vs_sbuf_addch (b, (char) c);
    }
    vs_sbuf_addch (b, '\'');
    return 0;
}

static void
hv_base64 (struct sbuf *b, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned) p[i] << 16;
        size_t left = n - i;

        if (left > 1) {
            v |= (unsigned) p[i + 1] << 8;
        }
        if (left > 2) {
            v |= p[i + 2];
        }
        vs_sbuf_addch (b, tab[(v >> 18) & 63]);
        vs_sbuf_addch (b, tab[(v >> 12) & 63]);
        vs_sbuf_addch (b, left > 1 ? tab[(v >> 6) & 63] : '=');
        vs_sbuf_addch (b, left > 2 ? tab[v & 63] : '=');
    }
}

static const char *
hv_tristate (int v, const char *unset)
{
    return v < 0 ? unset : v ? "yes" : "no";
}

static const char *
hv_reboot_name (enum hv_guest_reboot r)
{
    return r == HV_GUEST_REBOOT_ALWAYS ? "always" :
        r == HV_GUEST_REBOOT_NEVER ? "never" : "auto";
}

/* Check the names of the overrides against the target OS's rules. */
static int
hv_render_check_names (const struct hv_render *rd)
{
    char what[64];

    for (size_t i = 0; i < rd->cfg->nnics; i++) {
        const char *n = rd->cfg->nics[i].name;

        snprintf (what, sizeof what, "guest.nics[%zu].name", i);
        if (n[0] && hv_guest_check_name (n, rd->cfg->os, what) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------- sh */

static void
hv_sh_override (struct sbuf *o, size_t id, const struct hv_guest_nic *n)
{
    if (n->mac[0]) {
        vs_sbuf_printf (o, "%zu.mac=%s\n", id, n->mac);
    }
    if (n->name[0]) {
        vs_sbuf_printf (o, "%zu.name=%s\n", id, n->name);
    }
    if (n->dhcp >= 0) {
        vs_sbuf_printf (o, "%zu.dhcp=%s\n", id, n->dhcp ? "yes" : "no");
    }
    for (size_t i = 0; i < n->naddrs; i++) {
        vs_sbuf_printf (o, "%zu.addr=%s\n", id, n->addrs[i]);
    }
    if (n->gw4[0]) {
        vs_sbuf_printf (o, "%zu.gw4=%s\n", id, n->gw4);
    }
    if (n->gw6[0]) {
        vs_sbuf_printf (o, "%zu.gw6=%s\n", id, n->gw6);
    }
    for (size_t i = 0; i < n->ndns; i++) {
        vs_sbuf_printf (o, "%zu.dns=%s\n", id, n->dns[i]);
    }
    for (size_t i = 0; i < n->nsearch; i++) {
        vs_sbuf_printf (o, "%zu.search=%s\n", id, n->search[i]);
    }
    if (n->mtu) {
        vs_sbuf_printf (o, "%zu.mtu=%u\n", id, n->mtu);
    }
    for (size_t i = 0; i < n->nroutes; i++) {
        const struct hv_guest_route *r = &n->routes[i];

        vs_sbuf_printf (o, "%zu.route%d=%s %s ", id, r->family, r->to,
                     r->via[0] ? r->via : "-");
        if (r->metric >= 0) {
            vs_sbuf_printf (o, "%lld\n", (long long) r->metric);
        } else {
            vs_sbuf_addstr (o, "-\n");
        }
    }
}

static int
hv_sh_overrides (struct hv_render *rd)
{
    struct sbuf o;
    char *s;

    vs_sbuf_init (&o, 1024 * 1024);
    for (size_t i = 0; i < rd->cfg->nnics; i++) {
        hv_sh_override (&o, i, &rd->cfg->nics[i]);
    }
    if (o.len && o.data[o.len - 1] == '\n') {
        o.data[--o.len] = '\0';
    }
    if (o.len == 0 && vs_sbuf_addstr (&o, "") < 0) {
        vs_sbuf_release (&o);
        return set_error (ENOMEM, "out of memory");
    }
    if ((s = vs_sbuf_detach (&o, NULL)) == NULL) {
        return -ENOMEM;
    }
    vs_sbuf_addstr (rd->b, "VS_OVERRIDES=");
    hv_sh_quote (rd->b, s);
    vs_sbuf_addch (rd->b, '\n');
    free (s);
    return 0;
}

/* A delimiter for the here-document that no line of the script equals. */
static void
hv_sh_delim (const char *s, size_t n, char *out, size_t outsz)
{
    for (unsigned k = 0;; k++) {
        size_t dl;
        const char *p = s, *end = s + n;
        int clash = 0;

        snprintf (out, outsz, k ? "VMSHIFT_ADMIN_SCRIPT_END_%u" :
                  "VMSHIFT_ADMIN_SCRIPT_END", k);
        dl = strlen (out);
        while (p < end && !clash) {
            const char *nl = memchr (p, '\n', (size_t) (end - p));
            size_t ll = nl ? (size_t) (nl - p) : (size_t) (end - p);

            clash = ll == dl && memcmp (p, out, dl) == 0;
            p = nl ? nl + 1 : end;
        }
        if (!clash) {
            return;
        }
    }
}

static int
hv_sh_admin (struct hv_render *rd)
{
    const char *s = rd->cfg->admin_script;
    size_t n = rd->cfg->admin_script_len;
    char delim[48];

    vs_sbuf_addstr (rd->b, "vs_admin_script() {\n");
    if (s == NULL || n == 0) {
        vs_sbuf_addstr (rd->b, "    :\n}\n");
        return 0;
    }
    hv_sh_delim (s, n, delim, sizeof delim);
    vs_sbuf_printf (rd->b, "    cat <<'%s'\n", delim);
    vs_sbuf_add (rd->b, s, n);
    if (s[n - 1] != '\n') {
        vs_sbuf_addch (rd->b, '\n');
    }
    vs_sbuf_printf (rd->b, "%s\n}\n", delim);
    return 0;
}

static int
hv_sh_setting (struct hv_render *rd, const char *key, size_t klen)
{
    const struct hv_guest_cfg *c = rd->cfg;
    const char *v;

#define HV_KEY(k) (klen == sizeof (k) - 1 && memcmp (key, k, klen) == 0)
    if (HV_KEY ("VS_OVERRIDES")) {
        return hv_sh_overrides (rd);
    }
    if (HV_KEY ("VS_MODE")) {
        v = hv_guest_mode_name (c->mode);
    } else if (HV_KEY ("VS_RETAIN_MAC")) {
        v = hv_tristate (c->retain_mac, "auto");
    } else if (HV_KEY ("VS_REMOVE_TOOLS")) {
        v = hv_tristate (c->remove_tools, "yes");
    } else if (HV_KEY ("VS_REBOOT")) {
        v = hv_reboot_name (c->reboot);
    } else if (HV_KEY ("VS_HOOK")) {
        v = c->hook && c->hook[0] ? c->hook : "auto";
    } else {
        return set_error (EINVAL, "'%s': unknown setting '%.*s' in the "
                          "settings block", rd->name, (int) klen, key);
    }
#undef HV_KEY
    vs_sbuf_add (rd->b, key, klen);
    vs_sbuf_addch (rd->b, '=');
    hv_sh_quote (rd->b, v);
    vs_sbuf_addch (rd->b, '\n');
    return 0;
}

/* ----------------------------------------------------------- PowerShell */

static int
hv_ps_list (struct sbuf *b, const char *key, const char *base, size_t stride,
            size_t n)
{
    int r = 0;

    vs_sbuf_printf (b, "        %s = @(", key);
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i) {
            vs_sbuf_addstr (b, ", ");
        }
        r = hv_ps_quote (b, base + i * stride);
    }
    vs_sbuf_addstr (b, ")\n");
    return r;
}

static int
hv_ps_kv (struct sbuf *b, const char *key, const char *v)
{
    vs_sbuf_printf (b, "        %s = ", key);
    if (hv_ps_quote (b, v) < 0) {
        return -EINVAL;
    }
    vs_sbuf_addch (b, '\n');
    return 0;
}

static int
hv_ps_routes (struct sbuf *b, const struct hv_guest_nic *n)
{
    int r = 0;

    vs_sbuf_addstr (b, "        Routes = @(");
    for (size_t i = 0; i < n->nroutes && r == 0; i++) {
        const struct hv_guest_route *rt = &n->routes[i];

        vs_sbuf_addstr (b, i ? ", @{ To = " : "@{ To = ");
        r = hv_ps_quote (b, rt->to);
        vs_sbuf_addstr (b, "; Via = ");
        r = r ? r : hv_ps_quote (b, rt->via);
        vs_sbuf_printf (b, "; Metric = %lld }", (long long) rt->metric);
    }
    vs_sbuf_addstr (b, ")\n");
    return r;
}

static int
hv_ps_override (struct sbuf *b, const struct hv_guest_nic *n)
{
    char mac[18];
    int r;

    /* Windows shows MACs as 00-50-56-AA-BB-CC. */
    snprintf (mac, sizeof mac, "%s", n->mac);
    for (char *p = mac; *p; p++) {
        *p = *p == ':' ? '-' : (*p >= 'a' && *p <= 'f') ? (char) (*p - 32) :
            *p;
    }
    vs_sbuf_addstr (b, "    @{\n");
    r = hv_ps_kv (b, "Mac", mac);
    r = r ? r : hv_ps_kv (b, "Name", n->name);
    vs_sbuf_printf (b, "        Dhcp = %s\n", n->dhcp < 0 ? "$null" :
                 n->dhcp ? "$true" : "$false");
    r = r ? r : hv_ps_list (b, "Addresses", n->addrs[0], sizeof n->addrs[0],
                            n->naddrs);
    r = r ? r : hv_ps_kv (b, "Gateway4", n->gw4);
    r = r ? r : hv_ps_kv (b, "Gateway6", n->gw6);
    r = r ? r : hv_ps_list (b, "Dns", n->dns[0], sizeof n->dns[0], n->ndns);
    r = r ? r : hv_ps_list (b, "Search", n->search[0], sizeof n->search[0],
                            n->nsearch);
    vs_sbuf_printf (b, "        Mtu = %u\n", n->mtu);
    r = r ? r : hv_ps_routes (b, n);
    vs_sbuf_addstr (b, "    }\n");
    return r;
}

static int
hv_ps_setting (struct hv_render *rd, const char *key, size_t klen)
{
    const struct hv_guest_cfg *c = rd->cfg;
    const char *v;
    int r = 0;

#define HV_KEY(k) (klen == sizeof (k) - 1 && memcmp (key, k, klen) == 0)
    vs_sbuf_add (rd->b, key, klen);
    vs_sbuf_addstr (rd->b, " = ");
    if (HV_KEY ("$VsOverrides")) {
        if (c->nnics == 0) {
            vs_sbuf_addstr (rd->b, "@()\n");
            return 0;
        }
        vs_sbuf_addstr (rd->b, "@(\n");
        for (size_t i = 0; i < c->nnics && r == 0; i++) {
            r = hv_ps_override (rd->b, &c->nics[i]);
        }
        vs_sbuf_addstr (rd->b, ")\n");
        return r;
    }
    if (HV_KEY ("$VsAdminScript")) {
        vs_sbuf_addch (rd->b, '\'');
        if (c->admin_script) {
            hv_base64 (rd->b, (const unsigned char *) c->admin_script,
                       c->admin_script_len);
        }
        vs_sbuf_addstr (rd->b, "'\n");
        return 0;
    }
    if (HV_KEY ("$VsRemoveTools")) {
        vs_sbuf_addstr (rd->b, c->remove_tools == 0 ? "$false\n" : "$true\n");
        return 0;
    }
    if (HV_KEY ("$VsMode")) {
        v = hv_guest_mode_name (c->mode);
    } else if (HV_KEY ("$VsRetainMac")) {
        v = hv_tristate (c->retain_mac, "auto");
    } else if (HV_KEY ("$VsReboot")) {
        v = hv_reboot_name (c->reboot);
    } else {
        return set_error (EINVAL, "'%s': unknown setting '%.*s' in the "
                          "settings block", rd->name, (int) klen, key);
    }
#undef HV_KEY
    r = hv_ps_quote (rd->b, v);
    vs_sbuf_addch (rd->b, '\n');
    return r;
}

/* ---------------------------------------------------------------- lines */

static size_t
hv_key_len (const char *line, size_t len, int ps)
{
    size_t k = ps ? 1 : 0;

    while (k < len && (line[k] == '_' || (line[k] >= 'A' && line[k] <= 'Z') ||
                       (line[k] >= 'a' && line[k] <= 'z') ||
                       (line[k] >= '0' && line[k] <= '9'))) {
        k++;
    }
    return k;
}

/* One line inside the settings block; *skip_fn tracks the sh function
 * vs_admin_script() being replaced. */
static int
hv_block_line (struct hv_render *rd, const char *line, size_t len,
               int *skip_fn)
{
    if (*skip_fn) {
        *skip_fn = !(len == 1 && line[0] == '}');
        return 0;
    }
    if (!rd->ps && len >= 15 && memcmp (line, "vs_admin_script", 15) == 0) {
        *skip_fn = 1;
        return hv_sh_admin (rd);
    }
    if (!rd->ps && len > 3 && memcmp (line, "VS_", 3) == 0) {
        return hv_sh_setting (rd, line, hv_key_len (line, len, 0));
    }
    if (rd->ps && len > 3 && memcmp (line, "$Vs", 3) == 0) {
        return hv_ps_setting (rd, line, hv_key_len (line, len, 1));
    }
    vs_sbuf_add (rd->b, line, len);
    vs_sbuf_addch (rd->b, '\n');
    return 0;
}

static int
hv_render_lines (struct hv_render *rd, const char *src, size_t len)
{
    const char *p = src, *end = src + len;
    int state = 0, skip_fn = 0, r = 0;

    while (p < end && r == 0) {
        const char *nl = memchr (p, '\n', (size_t) (end - p));
        size_t ll = nl ? (size_t) (nl - p) : (size_t) (end - p);

        if (state == 1 && ll >= strlen (HV_END) &&
            memcmp (p, HV_END, strlen (HV_END)) == 0) {
            state = 2;
        }
        if (state == 1) {
            r = hv_block_line (rd, p, ll, &skip_fn);
        } else {
            vs_sbuf_add (rd->b, p, ll);
            if (nl) {
                vs_sbuf_addch (rd->b, '\n');
            }
        }
        if (state == 0 && ll >= strlen (HV_BEGIN) &&
            memcmp (p, HV_BEGIN, strlen (HV_BEGIN)) == 0) {
            state = 1;
        }
        p = nl ? nl + 1 : end;
    }
    if (r == 0 && state != 2) {
        r = set_error (EINVAL, "'%s': no complete vmshift settings block",
                       rd->name);
    }
    return r;
}

int
hv_guest_render (const char *src, size_t len, const char *name,
                 const struct hv_guest_cfg *cfg, char **out, size_t *outlen)
{
    struct sbuf b;
    struct hv_render rd = { .b = &b, .cfg = cfg, .name = name };
    size_t nl = strlen (name);
    char *text;
    int r;

    rd.ps = nl > 4 && strcmp (name + nl - 4, ".ps1") == 0;
    if (cfg->admin_script_len > HV_GUEST_MAX_SCRIPT) {
        return set_error (EFBIG, "the administrator's script is larger than "
                          "%d bytes", HV_GUEST_MAX_SCRIPT);
    }
    if (cfg->admin_script &&
        memchr (cfg->admin_script, '\0', cfg->admin_script_len)) {
        return set_error (EINVAL, "the administrator's script contains a "
                          "NUL byte");
    }
    if ((r = hv_render_check_names (&rd)) < 0) {
        return r;
    }
    /* The script, the script once more in base64, and the overrides. */
    vs_sbuf_init (&b, len + 2 * cfg->admin_script_len + 4 * 1024 * 1024);
    if ((r = hv_render_lines (&rd, src, len)) < 0) {
        vs_sbuf_release (&b);
        return r;
    }
    if ((text = vs_sbuf_detach (&b, outlen)) == NULL) {
        return -vmshift_internal_error_errno ();
    }
    *out = text;
    return 0;
}

const struct hv_guest_file *
hv_guest_file (const char *name)
{
    for (size_t i = 0; i < hv_guest_nfiles; i++) {
        if (strcmp (hv_guest_files[i].name, name) == 0) {
            return &hv_guest_files[i];
        }
    }
    return NULL;
}
