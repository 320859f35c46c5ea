/* Hyper-V: a PowerShell script (Hyper-V module) that creates the VM.
 *
 *   Generation 1 for BIOS guests: boot disk on IDE 0:0 (Generation 1
 *     boots only from IDE), data disks on SCSI;
 *   Generation 2 for EFI guests: every disk on SCSI; secure boot on or
 *     off as on VMware, template "MicrosoftWindows" for Windows and
 *     "MicrosoftUEFICertificateAuthority" for everything else;
 *   static memory, processor count, vTPM with a local key protector;
 *   one synthetic adapter per NIC on the mapped vSwitch, VLAN access
 *   mode, static MAC when retained;
 *   with -Start -GuestCredential: starts the VM, waits for its heartbeat
 *   and brings offline data disks online inside Windows guests over
 *   PowerShell Direct (Windows' SAN policy leaves new disks offline).
 *
 * Every value taken from the .vmx or the map is a single-quoted
 * (verbatim) PowerShell string (hv_esc_ps), names in comments go through
 * hv_esc_comment, and cmdlets get the VM object, never a name pattern:
 * -Name parameters of Get-* cmdlets treat [ ] * ? as wildcards.  The
 * script checks every VHDX exists and no VM of that name exists before
 * it changes anything.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

static void
ps_head (const struct hv_plan *p, struct sbuf *b)
{
    const struct hv_vm *vm = p->vm;

    vs_sbuf_addstr (b, "# Hyper-V definition of VMware VM '");
    hv_esc_comment (b, vm->name);
    vs_sbuf_printf (b, "', written by vmshift %s", p->def->version ?
                 p->def->version : "");
    if (p->def->source_file) {
        vs_sbuf_addstr (b, " from '");
        hv_esc_comment (b, p->def->source_file);
        vs_sbuf_addch (b, '\'');
    }
    vs_sbuf_addstr (b, ".\n# Run it on the Hyper-V host as an administrator. "
                 "-DiskPath is the folder (or SMB\n# share) holding the "
                 "converted VHDX files.\n"
                 "#Requires -RunAsAdministrator\n"
                 "#Requires -Modules Hyper-V\n"
                 "[CmdletBinding()]\nparam(\n");
    if (p->disk_dir) {
        vs_sbuf_addstr (b, "    [string]$DiskPath = ");
        hv_esc_ps (b, p->disk_dir);
        vs_sbuf_addstr (b, ",\n");
    } else {
        vs_sbuf_addstr (b, "    [Parameter(Mandatory = $true)]"
                        "[string]$DiskPath,\n");
    }
    vs_sbuf_addstr (b, "    [string]$VMPath = '',\n"
                 "    [switch]$Start,\n"
                 "    [System.Management.Automation.PSCredential]"
                 "$GuestCredential\n)\n"
                 "$ErrorActionPreference = 'Stop'\n"
                 "Set-StrictMode -Version 3.0\n\n"
                 "function Join-VmshiftPath([string]$Dir, [string]$Name) {\n"
                 "    if ($Dir -eq '') { return $Name }\n"
                 "    return $Dir.TrimEnd([char[]]'\\/') + '\\' + $Name\n"
                 "}\n\n");
}

static void
ps_checks (const struct hv_plan *p, struct sbuf *b)
{
    vs_sbuf_addstr (b, "$vmName = ");
    hv_esc_ps (b, p->vm->name);
    vs_sbuf_addstr (b, "\n$disks = @(\n");
    for (size_t i = 0; i < p->disks.len; i++) {
        vs_sbuf_addstr (b, "    (Join-VmshiftPath $DiskPath ");
        hv_esc_ps (b, p->disks.ptr[i].file);
        vs_sbuf_addstr (b, i + 1 < p->disks.len ? "),\n" : ")\n");
    }
    vs_sbuf_addstr (b, ")\n"
                 "foreach ($d in $disks) {\n"
                 "    if (-not (Test-Path -LiteralPath $d -PathType Leaf)) "
                 "{ throw ('converted disk not found: ' + $d) }\n"
                 "}\n"
                 "if (@(Get-VM | Where-Object { $_.Name -eq $vmName })"
                 ".Count -gt 0) {\n"
                 "    throw ('a VM with this name already exists: ' + "
                 "$vmName)\n}\n\n");
}

static void
ps_create (const struct hv_plan *p, struct sbuf *b, unsigned gen)
{
    const struct hv_vm *vm = p->vm;
    uint64_t mem = p->memory_mib + (p->memory_mib & 1);

    /* Bytes, not "4096MB": in a hashtable, plain numbers read the same
     * to every PowerShell parser. */
    vs_sbuf_printf (b, "$newVm = @{ Name = $vmName; Generation = %u; "
                 "MemoryStartupBytes = %" PRIu64 "; NoVHD = $true }\n"
                 "if ($VMPath -ne '') { $newVm.Path = $VMPath }\n"
                 "$vm = New-VM @newVm\n", gen, mem << 20);
    vs_sbuf_printf (b, "Set-VMProcessor -VM $vm -Count %u\n"
                 "Set-VMMemory -VM $vm -DynamicMemoryEnabled $false "
                 "-StartupBytes %" PRIu64 "MB\n", p->vcpus, mem);
    vs_sbuf_addstr (b, "Set-VM -VM $vm -AutomaticCheckpointsEnabled $false "
                 "-Notes ");
    {
        struct sbuf n;

        vs_sbuf_init (&n, 65536);
        vs_sbuf_printf (&n, "Converted by vmshift from VMware VM '%s' (guest "
                     "OS %s)", vm->name, vm->guest_os);
        if (vm->annotation) {
            vs_sbuf_printf (&n, ": %s", vm->annotation);
        }
        hv_esc_ps (b, n.err ? "Converted by vmshift" : n.data);
        vs_sbuf_release (&n);
    }
    vs_sbuf_addch (b, '\n');
    if (gen == 2) {
        vs_sbuf_printf (b, "Set-VMFirmware -VM $vm -EnableSecureBoot %s",
                     vm->secure_boot ? "On" : "Off");
        if (vm->secure_boot) {
            vs_sbuf_printf (b, " -SecureBootTemplate '%s'",
                         p->os == HV_OS_WINDOWS ? "MicrosoftWindows" :
                         "MicrosoftUEFICertificateAuthority");
        }
        vs_sbuf_addch (b, '\n');
    }
    if (vm->vtpm) {
        vs_sbuf_addstr (b, "Set-VMKeyProtector -VM $vm -NewLocalKeyProtector\n"
                     "Enable-VMTPM -VM $vm\n");
    }
}

static void
ps_nics (const struct hv_plan *p, struct sbuf *b)
{
    vs_sbuf_addstr (b, "\n# New-VM adds an unconnected adapter: replace it.\n"
                 "Get-VMNetworkAdapter -VM $vm | Remove-VMNetworkAdapter\n");
    for (size_t i = 0; i < p->nics.len; i++) {
        const struct hv_plan_nic *n = &p->nics.ptr[i];
        const struct hv_nic *s = &p->vm->nics.ptr[n->src];

        if (!n->target) {
            /* a test migration: without -SwitchName the adapter is "Not
             * connected" */
            vs_sbuf_addstr (b, "# test migration: on no virtual switch\n");
        }
        vs_sbuf_printf (b, "$nic = Add-VMNetworkAdapter -VM $vm -Name "
                     "'ethernet%u'", s->index);
        if (n->target) {
            vs_sbuf_addstr (b, " -SwitchName ");
            hv_esc_ps (b, n->target);
        }
        vs_sbuf_addstr (b, " -Passthru\n");
        if (n->mac) {
            vs_sbuf_addstr (b, "Set-VMNetworkAdapter -VMNetworkAdapter $nic "
                            "-StaticMacAddress '");
            for (int k = 0; k < 17; k++) {
                if (k % 3 != 2) {
                    vs_sbuf_addch (b, (char) (s->mac[k] >= 'a'
                                              ? s->mac[k] - 32 : s->mac[k]));
                }
            }
            vs_sbuf_addstr (b, "'\n");
        }
        if (n->vlan) {
            vs_sbuf_printf (b, "Set-VMNetworkAdapterVlan -VMNetworkAdapter "
                            "$nic -Access -VlanId %d\n", n->vlan);
        }
    }
}

static void
ps_disks (const struct hv_plan *p, struct sbuf *b, unsigned gen)
{
    unsigned maxctrl = 0, dvd = 0;

    vs_sbuf_addstr (b, "\n");
    for (size_t i = 0; i < p->disks.len; i++) {
        maxctrl = p->disks.ptr[i].ctrl > maxctrl ? p->disks.ptr[i].ctrl :
            maxctrl;
    }
    if (p->disks.len) {
        vs_sbuf_printf (b, "while (@(Get-VMScsiController -VM $vm).Count "
                        "-lt %u) { Add-VMScsiController -VM $vm }\n",
                        maxctrl + 1);
    }
    for (size_t i = 0; i < p->disks.len; i++) {
        const struct hv_plan_disk *d = &p->disks.ptr[i];
        bool ide = strcmp (d->bus, "ide") == 0;

        vs_sbuf_printf (b, "Add-VMHardDiskDrive -VM $vm -ControllerType %s "
                     "-ControllerNumber %u -ControllerLocation %u -Path "
                     "$disks[%zu]\n", ide ? "IDE" : "SCSI", d->ctrl, d->unit,
                     i);
        if (!ide && d->ctrl == 0 && d->unit >= dvd) {
            dvd = d->unit + 1;
        }
    }
    if (gen == 2 && p->ncdrom) {
        vs_sbuf_printf (b, "Add-VMDvdDrive -VM $vm -ControllerNumber 0 "
                     "-ControllerLocation %u\n", dvd);
    }
    if (gen == 2 && p->disks.len) {
        vs_sbuf_printf (b, "Set-VMFirmware -VM $vm -FirstBootDevice "
                     "(Get-VMHardDiskDrive -VM $vm -ControllerType SCSI "
                     "-ControllerNumber %u -ControllerLocation %u)\n",
                     p->disks.ptr[0].ctrl, p->disks.ptr[0].unit);
    } else if (gen == 1) {
        vs_sbuf_addstr (b, "Set-VMBios -VM $vm -StartupOrder @('IDE', 'CD', "
                     "'LegacyNetworkAdapter', 'Floppy')\n");
    }
}

static void
ps_start (const struct hv_plan *p, struct sbuf *b)
{
    bool online = p->os == HV_OS_WINDOWS && p->disks.len > 1;

    vs_sbuf_addstr (b, "\nif ($Start) {\n    Start-VM -VM $vm\n");
    if (online) {
        vs_sbuf_addstr (b, "    if ($GuestCredential) {\n"
                     "        # Windows' SAN policy leaves the data disks "
                     "offline: bring them\n"
                     "        # online over PowerShell Direct once the guest "
                     "answers.\n"
                     "        Wait-VM -VM $vm -For Heartbeat -Timeout 600\n"
                     "        Invoke-Command -VMId $vm.Id -Credential "
                     "$GuestCredential -ScriptBlock {\n"
                     "            Get-Disk | Where-Object { $_.IsOffline } | "
                     "Set-Disk -IsOffline $false\n"
                     "            Get-Disk | Where-Object { $_.IsReadOnly } | "
                     "Set-Disk -IsReadOnly $false\n"
                     "        }\n"
                     "    }\n");
    }
    vs_sbuf_addstr (b, "}\n$vm\n");
}

static int
ps_notes (struct hv_plan *p, unsigned gen)
{
    const struct hv_vm *vm = p->vm;
    unsigned maxcpu = gen == 1 ? 64 : 240;

    if (p->vcpus > maxcpu &&
        hv_plan_note (p, "%u vCPUs is more than Hyper-V Generation %u "
                      "allows (%u)", p->vcpus, gen, maxcpu) < 0) {
        return -ENOMEM;
    }
    if (p->memory_mib & 1 &&
        hv_plan_note (p, "memory rounded up to %" PRIu64 " MiB (Hyper-V "
                      "needs a multiple of 2 MiB)", p->memory_mib + 1) < 0) {
        return -ENOMEM;
    }
    if (vm->uuid_bios[0] &&
        hv_plan_note (p, "the BIOS UUID %s is not carried over: Hyper-V "
                      "assigns a new one", vm->uuid_bios) < 0) {
        return -ENOMEM;
    }
    return 0;
}

int
hv_hyperv_emit (struct hv_plan *p, struct sbuf *b)
{
    unsigned gen = p->vm->firmware == HV_FW_EFI ? 2 : 1;
    int r;

    for (size_t i = 0; i < p->nics.len; i++) {
        if (p->nics.ptr[i].target && strlen (p->nics.ptr[i].target) > 255) {
            return set_error (EINVAL, "vSwitch name '%.40s...' is too long",
                              p->nics.ptr[i].target);
        }
    }
    ps_head (p, b);
    ps_checks (p, b);
    ps_create (p, b, gen);
    ps_nics (p, b);
    ps_disks (p, b, gen);
    ps_start (p, b);
    r = ps_notes (p, gen);
    return r < 0 ? r : b->err;
}

static const char *const hyperv_aliases[] = { "hyper-v", NULL };
static const char *const hyperv_formats[] = { "vhdx", NULL };

/* Generation 1 for BIOS guests (boot disk on IDE 0:0, data disks on
 * SCSI), Generation 2 for EFI guests (all on SCSI); up to 4 SCSI
 * controllers of 64 disks; synthetic network adapters (docs/targets.md). */
const struct hv_target_driver hv_hyperv_target = {
    .id = HV_TARGET_HYPERV,
    .name = "hyperv",
    .aliases = hyperv_aliases,
    .title = "Hyper-V",
    .default_format = "vhdx",
    .formats = hyperv_formats,
    .default_dir = NULL,
    .fixed_bus = HV_CHOICE_SCSI,
    .ide_boot_on_bios = true,
    .default_bus = HV_CHOICE_SCSI,
    .sata_ports = 0,
    .scsi_units = 64,
    .scsi_controllers = 4,
    .synthetic_nic = true,
    .efi = true, .secure_boot = true, .vtpm = true,
    .emit = hv_hyperv_emit,
};
