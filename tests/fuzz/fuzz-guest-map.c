/* libFuzzer harness: the network map's guest part (hypervisors/guest-map.c,
 * guest-check.c) and, for every map it accepts, the renderer
 * (guest-render.c) over the embedded scripts; the input is also used as
 * an administrator's script. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypervisors/guest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fuzz_render_all (struct hv_guest_cfg *cfg)
{
    for (size_t i = 0; i < hv_guest_nfiles; i++) {
        const struct hv_guest_file *f = &hv_guest_files[i];
        char *out = NULL;
        size_t len;

        cfg->os = strstr (f->name, ".ps1") ? HV_GUEST_WINDOWS : HV_GUEST_LINUX;
        if (hv_guest_render ((const char *) f->data, f->len, f->name, cfg,
                             &out, &len) == 0) {
            free (out);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    struct hv_guest_map *m = NULL;
    struct hv_guest_cfg cfg = { .retain_mac = -1, .remove_tools = -1 };

    if (hv_guest_map_parse ((const char *) data, size, "fuzz", &m) == 0) {
        cfg.mode = m->mode;
        cfg.retain_mac = m->retain_mac;
        cfg.remove_tools = m->remove_tools;
        cfg.reboot = m->reboot;
        cfg.hook = m->hook;
        cfg.nics = m->nics;
        cfg.nnics = m->nnics;
        fuzz_render_all (&cfg);
        hv_guest_map_free (m);
    }
    memset (&cfg, 0, sizeof cfg);
    cfg.retain_mac = -1;
    cfg.remove_tools = -1;
    cfg.mode = HV_GUEST_MODE_SCRIPT;
    cfg.admin_script = (const char *) data;
    cfg.admin_script_len = size;
    fuzz_render_all (&cfg);
    return 0;
}
