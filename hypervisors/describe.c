/* "vmshift inspect": the model as text for people and JSON for scripts.
 * Text output passes names through hv_esc_comment so a name cannot add
 * lines of its own; JSON goes through jsonw. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/base/error.h"
#include "engine/base/jsonw.h"
#include "hypervisors/hv.h"

static const char *
desc_os_family_name (enum hv_os_family f)
{
    return f == HV_OS_WINDOWS ? "windows" : f == HV_OS_LINUX ? "linux" :
        "other";
}

static void
desc_text_disk (struct sbuf *b, const struct hv_disk *d, bool boot)
{
    vs_sbuf_printf (b, "  %s%u:%u  %-11s ", hv_bus_name (d->bus), d->ctrl,
                 d->unit, hv_kind_name (d->kind));
    hv_esc_comment (b, d->file ? d->file : "(none)");
    if (d->kind == HV_DEV_DISK) {
        vs_sbuf_printf (b, "  %s", hv_mode_name (d->mode));
        if (d->capacity) {
            vs_sbuf_printf (b, "  %" PRIu64 " bytes", d->capacity);
        }
        vs_sbuf_addstr (b, "  -> ");
        hv_esc_comment (b, d->target_name ? d->target_name : "");
        vs_sbuf_addstr (b, boot ? "  (boot)" : "");
        vs_sbuf_addstr (b, d->rdm ? "  (RDM)" : "");
    } else if (d->kind == HV_DEV_CDROM) {
        vs_sbuf_addstr (b, d->start_connected ? "  (connected)" :
                     "  (not connected)");
    }
    vs_sbuf_addch (b, '\n');
}

static void
desc_text_nic (struct sbuf *b, const struct hv_nic *n)
{
    vs_sbuf_printf (b, "  ethernet%u  %s  network '", n->index,
                 n->model ? n->model : "default");
    hv_esc_comment (b, n->network);
    vs_sbuf_printf (b, "'  mac %s", n->mac[0] ? n->mac : "(none)");
    if (n->address_type) {
        vs_sbuf_addstr (b, " (");
        hv_esc_comment (b, n->address_type);
        vs_sbuf_addch (b, ')');
    }
    vs_sbuf_addstr (b, n->start_connected ? "\n" : "  (not connected)\n");
}

static void
desc_text_head (struct sbuf *b, const struct hv_vm *vm)
{
    vs_sbuf_addstr (b, "name:          ");
    hv_esc_comment (b, vm->name);
    vs_sbuf_printf (b, "\nsource:        %s", vm->source);
    if (vm->hw_version) {
        vs_sbuf_printf (b, " (virtual hardware %u)", vm->hw_version);
    }
    vs_sbuf_addstr (b, "\nguest OS:      ");
    hv_esc_comment (b, vm->guest_os);
    vs_sbuf_printf (b, " (%s)\n", desc_os_family_name (hv_os_family (
                                                        vm->guest_os)));
    vs_sbuf_printf (b, "vCPUs:         %u (%u sockets x %u cores)\n", vm->vcpus,
                 vm->vcpus / vm->cores_per_socket, vm->cores_per_socket);
    vs_sbuf_printf (b, "memory:        %" PRIu64 " MiB\n", vm->memory_mib);
    vs_sbuf_printf (b, "firmware:      %s%s\n", vm->firmware == HV_FW_EFI ?
                 "efi" : "bios", vm->secure_boot ? ", secure boot" : "");
    vs_sbuf_printf (b, "vTPM:          %s\n", vm->vtpm ? "yes" : "no");
    if (vm->uuid_bios[0]) {
        vs_sbuf_printf (b, "BIOS UUID:     %s\n", vm->uuid_bios);
    }
    if (vm->genid[0]) {
        vs_sbuf_printf (b, "generation id: %s\n", vm->genid);
    }
}

static void
desc_text (struct sbuf *b, const struct hv_vm *vm)
{
    size_t boot = hv_vm_boot_disk (vm);

    desc_text_head (b, vm);
    vs_sbuf_addstr (b, "controllers:\n");
    for (size_t i = 0; i < vm->ctrls.len; i++) {
        const struct hv_controller *c = &vm->ctrls.ptr[i];

        vs_sbuf_printf (b, "  %s%u  ", hv_bus_name (c->bus), c->index);
        hv_esc_comment (b, c->model ? c->model : "default");
        vs_sbuf_addch (b, '\n');
    }
    vs_sbuf_addstr (b, "devices:\n");
    for (size_t i = 0; i < vm->disks.len; i++) {
        desc_text_disk (b, &vm->disks.ptr[i], i == boot);
    }
    vs_sbuf_addstr (b, "NICs:\n");
    for (size_t i = 0; i < vm->nics.len; i++) {
        desc_text_nic (b, &vm->nics.ptr[i]);
    }
    vs_sbuf_printf (b, "warnings:      %zu\n", vm->warnings.len);
    for (size_t i = 0; i < vm->warnings.len; i++) {
        vs_sbuf_addstr (b, "  - ");
        hv_esc_comment (b, vm->warnings.ptr[i]);
        vs_sbuf_addch (b, '\n');
    }
}

static void
desc_json_disk (struct jsonw *w, const struct hv_disk *d, bool boot)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_str (w, "kind", hv_kind_name (d->kind));
    vs_jw_kv_str (w, "bus", hv_bus_name (d->bus));
    vs_jw_kv_u64 (w, "controller", d->ctrl);
    vs_jw_kv_u64 (w, "unit", d->unit);
    vs_jw_kv_str (w, "file", d->file);
    vs_jw_kv_str (w, "device_type", d->device_type);
    vs_jw_kv_str (w, "mode", hv_mode_name (d->mode));
    vs_jw_kv_bool (w, "start_connected", d->start_connected);
    if (d->kind == HV_DEV_DISK) {
        vs_jw_kv_bool (w, "boot", boot);
        vs_jw_kv_bool (w, "rdm", d->rdm);
        vs_jw_kv_bool (w, "snapshot", d->snapshot);
        vs_jw_kv_u64 (w, "capacity", d->capacity);
        vs_jw_kv_str (w, "target_name", d->target_name);
    }
    vs_jw_obj_end (w);
}

static void
desc_json_nic (struct jsonw *w, const struct hv_nic *n)
{
    vs_jw_obj_begin (w);
    vs_jw_kv_u64 (w, "index", n->index);
    vs_jw_kv_str (w, "model", n->model);
    vs_jw_kv_str (w, "network", n->network);
    vs_jw_kv_str (w, "connection_type", n->connection);
    vs_jw_kv_str (w, "address_type", n->address_type);
    vs_jw_kv_str (w, "mac", n->mac[0] ? n->mac : NULL);
    vs_jw_kv_bool (w, "start_connected", n->start_connected);
    vs_jw_obj_end (w);
}

static void
desc_json_lists (struct jsonw *w, const struct hv_vm *vm)
{
    size_t boot = hv_vm_boot_disk (vm);

    vs_jw_key (w, "controllers");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->ctrls.len; i++) {
        vs_jw_obj_begin (w);
        vs_jw_kv_str (w, "bus", hv_bus_name (vm->ctrls.ptr[i].bus));
        vs_jw_kv_u64 (w, "index", vm->ctrls.ptr[i].index);
        vs_jw_kv_str (w, "model", vm->ctrls.ptr[i].model);
        vs_jw_obj_end (w);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "devices");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->disks.len; i++) {
        desc_json_disk (w, &vm->disks.ptr[i], i == boot);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "nics");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->nics.len; i++) {
        desc_json_nic (w, &vm->nics.ptr[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "warnings");
    vs_jw_arr_begin (w);
    for (size_t i = 0; i < vm->warnings.len; i++) {
        vs_jw_str (w, vm->warnings.ptr[i]);
    }
    vs_jw_arr_end (w);
    vs_jw_key (w, "config");
    vs_jw_obj_begin (w);
    for (size_t i = 0; i < vm->vmx.kv.len; i++) {
        vs_jw_kv_str (w, vm->vmx.kv.ptr[i].key, vm->vmx.kv.ptr[i].value);
    }
    vs_jw_obj_end (w);
}

static void
desc_json (struct sbuf *b, const struct hv_vm *vm)
{
    struct jsonw w;

    vs_jw_init (&w, b, true);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "name", vm->name);
    vs_jw_kv_str (&w, "source", vm->source);
    vs_jw_kv_str (&w, "guest_os", vm->guest_os);
    vs_jw_kv_str (&w, "os_family", desc_os_family_name (hv_os_family (
                                                         vm->guest_os)));
    vs_jw_kv_str (&w, "annotation", vm->annotation);
    vs_jw_kv_u64 (&w, "hardware_version", vm->hw_version);
    vs_jw_kv_u64 (&w, "vcpus", vm->vcpus);
    vs_jw_kv_u64 (&w, "cores_per_socket", vm->cores_per_socket);
    vs_jw_kv_u64 (&w, "memory_mib", vm->memory_mib);
    vs_jw_kv_str (&w, "firmware", vm->firmware == HV_FW_EFI ? "efi" : "bios");
    vs_jw_kv_bool (&w, "secure_boot", vm->secure_boot);
    vs_jw_kv_bool (&w, "vtpm", vm->vtpm);
    vs_jw_kv_str (&w, "uuid_bios", vm->uuid_bios[0] ? vm->uuid_bios : NULL);
    vs_jw_kv_str (&w, "uuid_location", vm->uuid_location[0] ?
               vm->uuid_location : NULL);
    vs_jw_kv_str (&w, "vc_uuid", vm->vc_uuid[0] ? vm->vc_uuid : NULL);
    vs_jw_kv_str (&w, "genid", vm->genid[0] ? vm->genid : NULL);
    desc_json_lists (&w, vm);
    vs_jw_obj_end (&w);
    vs_sbuf_addch (b, '\n');
}

char *
hv_vm_describe (const struct hv_vm *vm, bool json)
{
    struct sbuf b;

    vs_sbuf_init (&b, HV_TEXT_MAX);
    if (json) {
        desc_json (&b, vm);
    } else {
        desc_text (&b, vm);
    }
    return vs_sbuf_detach (&b, NULL);
}
