/* hypervisors/vmx.c and vmx-model.c: the .vmx grammar, the VM model, and
 * bad input.  Corpus facts are in test-hv-corpus.c. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/hv.h"

static struct hv_vm *
load (const char *text)
{
    struct hv_vm *vm = NULL;
    int r = hv_vm_from_vmx (text, strlen (text), "t.vmx", "fallback", &vm);

    cr_assert_eq (r, 0, "parse failed: %s", vmshift_internal_error_msg ());
    return vm;
}

static int
load_fails (const char *text, size_t len, const char *needle)
{
    struct hv_vm *vm = NULL;
    int r = hv_vm_from_vmx (text, len, "bad.vmx", "x", &vm);

    cr_assert_lt (r, 0, "'%s' was accepted", text);
    cr_assert_null (vm);
    cr_assert (strstr (vmshift_internal_error_msg (), needle) != NULL,
               "message '%s' lacks '%s'", vmshift_internal_error_msg (),
               needle);
    cr_assert (strstr (vmshift_internal_error_msg (), "bad.vmx") != NULL,
               "message '%s' does not name the file",
               vmshift_internal_error_msg ());
    cr_assert_null (strchr (vmshift_internal_error_msg (), '\n'));
    return r;
}

static bool
has_warning (const struct hv_vm *vm, const char *needle)
{
    for (size_t i = 0; i < vm->warnings.len; i++) {
        if (strstr (vm->warnings.ptr[i], needle)) {
            return true;
        }
    }
    return false;
}

Test (vmx_grammar, escapes_comments_case_and_unquoted_values)
{
    struct hv_vm *vm = load (
        "#!/usr/bin/vmware\n"
        ".encoding = \"UTF-8\"\r\n"
        "  # indented comment\n"
        "DISPLAYNAME=\"a|22b|7Cc|7c|zz|0\"   # trailing comment\n"
        "annotation = \"line1|0Aline2\"\n"
        "memsize = 2048\n"
        "numVCPUs = \"4\"\n"
        "cpuid.coresPerSocket = \"2\"\n"
        "guestOS = \"windows9-64\"\n"
        "empty = \"\"\n");

    cr_assert_str_eq (vm->name, "a\"b|c||zz|0");
    cr_assert_str_eq (vm->annotation, "line1\nline2");
    cr_assert_eq (vm->memory_mib, 2048);
    cr_assert_eq (vm->vcpus, 4);
    cr_assert_eq (vm->cores_per_socket, 2);
    cr_assert_str_eq (hv_vmx_get (&vm->vmx, "EMPTY"), "");
    cr_assert_str_eq (hv_vmx_get (&vm->vmx, ".Encoding"), "UTF-8");
    cr_assert_eq (hv_os_family (vm->guest_os), HV_OS_WINDOWS);
    hv_vm_free (vm);
}

Test (vmx_grammar, pipe_00_is_kept_literally)
{
    struct hv_vm *vm = load ("displayName = \"a|00b\"\n");

    cr_assert_str_eq (vm->name, "a|00b");
    hv_vm_free (vm);
}

Test (vmx_grammar, duplicate_keys_last_wins_with_warning)
{
    struct hv_vm *vm = load ("memsize = \"1024\"\nMEMSIZE = \"4096\"\n");

    cr_assert_eq (vm->memory_mib, 4096);
    cr_assert (has_warning (vm, "appears twice (lines 1 and 2)"));
    hv_vm_free (vm);
}

Test (vmx_grammar, defaults_and_fallback_name)
{
    struct hv_vm *vm = load ("config.version = \"8\"\n");

    cr_assert_str_eq (vm->name, "fallback");
    cr_assert_eq (vm->memory_mib, 32);
    cr_assert_eq (vm->vcpus, 1);
    cr_assert_eq (vm->firmware, HV_FW_BIOS);
    cr_assert_eq (vm->disks.len, 0);
    cr_assert (has_warning (vm, "no disks"));
    hv_vm_free (vm);
}

Test (vmx_grammar, windows_1252_is_converted_to_utf8)
{
    struct hv_vm *vm = load (".encoding = \"windows-1252\"\n"
                             "displayName = \"caf\xe9 \x80\"\n");

    cr_assert_str_eq (vm->name, "caf\xc3\xa9 \xe2\x82\xac");
    hv_vm_free (vm);
}

Test (vmx_bad, syntax_errors_name_the_line)
{
    load_fails ("a = \"1\"\nb = \"unterminated\n", 21, "line 2: unterminated");
    load_fails ("a = \"1\"\njust words\n", 19, "line 2: expected '='");
    load_fails ("a = \"1\" junk\n", 13, "line 1: unexpected text");
    load_fails ("= \"1\"\n", 6, "line 1: expected 'key");
    load_fails ("ke\x01y = \"1\"\n", 11, "invalid character 0x01");
}

Test (vmx_bad, binary_truncated_and_empty_files)
{
    static const char bin[] = "KDMV\x01\x00\x00\x00\x03";

    load_fails (bin, sizeof bin - 1, "NUL byte at offset 5");
    load_fails ("", 0, "no 'key = \"value\"' lines");
    load_fails ("# only a comment\n\n", 18, "no 'key");
    load_fails ("displayName = \"trunc", 20, "unterminated");
}

Test (vmx_bad, absurd_sizes_are_errors)
{
    load_fails ("memsize = \"99999999999\"\n", 24, "memsize '99999999999'");
    load_fails ("memsize = \"0\"\n", 14, "memsize '0'");
    load_fails ("memsize = \"-5\"\n", 15, "memsize '-5'");
    load_fails ("numvcpus = \"100000\"\n", 20, "numvcpus '100000'");
    load_fails ("numvcpus = \"two\"\n", 17, "numvcpus 'two'");
    load_fails ("numvcpus = \"184467440737095516160\"\n", 35, "numvcpus");
}

Test (vmx_bad, oversized_input_is_efbig)
{
    size_t n = HV_VMX_MAX_BYTES + 1;
    char *big = malloc (n);
    struct hv_vm *vm = NULL;

    cr_assert_not_null (big);
    memset (big, '#', n);
    cr_assert_eq (hv_vm_from_vmx (big, n, "big.vmx", "x", &vm), -EFBIG);
    free (big);
}

Test (vmx_bad, cores_per_socket_that_does_not_divide_is_a_warning)
{
    struct hv_vm *vm = load ("numvcpus = \"6\"\ncpuid.coresPerSocket = \"4\"\n");

    cr_assert_eq (vm->cores_per_socket, 1);
    cr_assert (has_warning (vm, "does not divide"));
    hv_vm_free (vm);
}

Test (vmx_devices, duplicate_disk_slots_warn_and_keep_one)
{
    struct hv_vm *vm = load ("scsi0.present = \"TRUE\"\n"
                             "scsi0:0.present = \"TRUE\"\n"
                             "scsi0:0.fileName = \"a.vmdk\"\n"
                             "scsi0:00.present = \"TRUE\"\n"
                             "scsi0:00.fileName = \"b.vmdk\"\n");

    cr_assert_eq (hv_vm_disk_count (vm), 1);
    cr_assert (has_warning (vm, "duplicate disk slot scsi0:0"));
    hv_vm_free (vm);
}

Test (vmx_devices, slots_modes_kinds_and_names)
{
    struct hv_vm *vm = load (
        "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"PVSCSI\"\n"
        "scsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"vm_1.vmdk\"\n"
        "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"vm-000002.vmdk\"\n"
        "scsi0:0.mode = \"independent-nonpersistent\"\n"
        "ide1:0.present = \"TRUE\"\nide1:0.deviceType = \"cdrom-image\"\n"
        "ide1:0.fileName = \"x.iso\"\nide1:0.startConnected = \"FALSE\"\n"
        "sata0.present = \"TRUE\"\n"
        "sata0:2.present = \"TRUE\"\nsata0:2.fileName = \"/vmfs/volumes/ds/"
        "d/My Disk (1).vmdk\"\n"
        "nvme0.present = \"TRUE\"\nnvme0:0.present = \"TRUE\"\n"
        "nvme0:0.fileName = \"vm_1.VMDK\"\n"
        "scsi0:5.present = \"FALSE\"\nscsi0:5.fileName = \"gone.vmdk\"\n"
        "scsi0:6.present = \"TRUE\"\nscsi0:6.deviceType = \"scsi-passthru\"\n"
        "scsi0:6.fileName = \"/dev/sg1\"\n"
        "ide0:7.present = \"TRUE\"\nide0:7.fileName = \"bad-slot.vmdk\"\n"
        "scsi1:0.present = \"TRUE\"\nscsi1:0.fileName = \"nocontroller.vmdk\"\n"
        "bios.hddOrder = \"scsi0:1\"\n");
    const struct hv_disk *d = vm->disks.ptr;

    cr_assert_eq (vm->disks.len, 7);
    /* order: scsi, sata, nvme, ide */
    cr_assert_eq (d[0].bus, HV_BUS_SCSI);
    cr_assert_eq (d[0].unit, 0);
    cr_assert (d[0].snapshot);
    cr_assert_eq (d[0].mode, HV_MODE_INDEP_NONPERSISTENT);
    cr_assert_str_eq (d[0].target_name, "vm");
    cr_assert_str_eq (d[1].target_name, "vm_1");
    cr_assert_eq (d[2].kind, HV_DEV_PASSTHRU);
    cr_assert_eq (d[3].bus, HV_BUS_SCSI);
    cr_assert_eq (d[3].ctrl, 1);
    cr_assert_eq (d[4].bus, HV_BUS_SATA);
    cr_assert_str_eq (d[4].target_name, "My_Disk__1_");
    cr_assert_eq (d[5].bus, HV_BUS_NVME);
    cr_assert_str_eq (d[5].target_name, "vm_1-2");
    cr_assert_eq (d[6].kind, HV_DEV_CDROM);
    cr_assert (!d[6].start_connected);
    cr_assert_eq (hv_vm_boot_disk (vm), 1);
    cr_assert_str_eq (vm->ctrls.ptr[0].model, "pvscsi");
    cr_assert (has_warning (vm, "snapshot delta"));
    cr_assert (has_warning (vm, "independent-nonpersistent"));
    cr_assert (has_warning (vm, "SCSI passthrough"));
    cr_assert (has_warning (vm, "ide0:7 is outside"));
    hv_vm_free (vm);
}

Test (vmx_devices, nics_networks_and_macs)
{
    struct hv_vm *vm = load (
        "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"VMXNET3\"\n"
        "ethernet0.networkName = \"VM Network\"\n"
        "ethernet0.addressType = \"generated\"\n"
        "ethernet0.generatedAddress = \"00:0C:29:AA:BB:CC\"\n"
        "ethernet1.present = \"TRUE\"\nethernet1.addressType = \"static\"\n"
        "ethernet1.address = \"00-50-56-11-22-33\"\n"
        "ethernet1.dvs.portgroupId = \"dvportgroup-12\"\n"
        "ethernet1.startConnected = \"FALSE\"\n"
        "ethernet2.present = \"TRUE\"\nethernet2.connectionType = \"nat\"\n"
        "ethernet2.generatedAddress = \"zz:00:00:00:00:00\"\n"
        "ethernet3.present = \"FALSE\"\n"
        "ethernet12.present = \"TRUE\"\n");
    const struct hv_nic *n = vm->nics.ptr;

    cr_assert_eq (vm->nics.len, 3);
    cr_assert_str_eq (n[0].model, "vmxnet3");
    cr_assert_str_eq (n[0].network, "VM Network");
    cr_assert_str_eq (n[0].mac, "00:0c:29:aa:bb:cc");
    cr_assert_str_eq (n[1].network, "dvportgroup-12");
    cr_assert_str_eq (n[1].mac, "00:50:56:11:22:33");
    cr_assert (!n[1].start_connected);
    cr_assert_str_eq (n[2].network, "nat");
    cr_assert_str_eq (n[2].mac, "");
    cr_assert (has_warning (vm, "invalid MAC address"));
    cr_assert (has_warning (vm, "ethernet12 is beyond"));
    hv_vm_free (vm);
}

Test (vmx_model, firmware_tpm_uuids_genid_and_encryption)
{
    struct hv_vm *vm = load (
        "firmware = \"efi\"\nuefi.secureBoot.enabled = \"TRUE\"\n"
        "vtpm.present = \"TRUE\"\n"
        "uuid.bios = \"56 4d 6c 27 96 ea 12 07-6f 0b b1 1d 81 46 9b 0b\"\n"
        "uuid.location = \"not a uuid\"\n"
        "vm.genid = \"-802103094701856339\"\n"
        "vm.genidX = \"-5104727847056752683\"\n"
        "encryption.keySafe = \"vmware:key/...\"\n");

    cr_assert_eq (vm->firmware, HV_FW_EFI);
    cr_assert (vm->secure_boot);
    cr_assert (vm->vtpm);
    cr_assert_str_eq (vm->uuid_bios, "564d6c27-96ea-1207-6f0b-b11d81469b0b");
    cr_assert_str_eq (vm->uuid_location, "");
    cr_assert_str_eq (vm->genid, "2f0de9ad-5b7c-f4de-d53f-23b1115d28b9");
    cr_assert (has_warning (vm, "vTPM state is not carried over"));
    cr_assert (has_warning (vm, "uuid.location 'not a uuid'"));
    cr_assert (has_warning (vm, "encrypted"));
    hv_vm_free (vm);
}

Test (vmx_model, secure_boot_needs_efi)
{
    struct hv_vm *vm = load ("uefi.secureBoot.enabled = \"TRUE\"\n");

    cr_assert (!vm->secure_boot);
    hv_vm_free (vm);
}

Test (vmx_model, os_families)
{
    cr_assert_eq (hv_os_family ("windows2019srvNext-64"), HV_OS_WINDOWS);
    cr_assert_eq (hv_os_family ("winNetEnterprise"), HV_OS_WINDOWS);
    cr_assert_eq (hv_os_family ("longhorn"), HV_OS_WINDOWS);
    cr_assert_eq (hv_os_family ("rhel8-64"), HV_OS_LINUX);
    cr_assert_eq (hv_os_family ("other26xlinux"), HV_OS_LINUX);
    cr_assert_eq (hv_os_family ("otherLinux64Guest"), HV_OS_LINUX);
    cr_assert_eq (hv_os_family ("freebsd-64"), HV_OS_OTHER);
    cr_assert_eq (hv_os_family ("other-64"), HV_OS_OTHER);
}

Test (vmx_model, vmdk_descriptor_sizes)
{
    static const char flat[] =
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
        "createType=\"vmfs\"\n\n# Extent description\n"
        "RW 41943040 VMFS \"a-flat.vmdk\"\n";
    static const char two[] =
        "# Disk DescriptorFile\ncreateType=\"twoGbMaxExtentFlat\"\n"
        "RW 4192256 FLAT \"a-f001.vmdk\" 0\nRDONLY 8 FLAT \"a-f002.vmdk\" 0\n";
    static const char rdm[] =
        "# Disk DescriptorFile\ncreateType=\"vmfsPassthroughRawDeviceMap\"\n"
        "RW 2097152 VMFSRDM \"a-rdmp.vmdk\"\n";
    uint64_t cap = 0;
    bool is_rdm = true;

    cr_assert_eq (hv_vmdk_desc_info (flat, sizeof flat - 1, &cap, &is_rdm), 0);
    cr_assert_eq (cap, UINT64_C (41943040) * 512);
    cr_assert (!is_rdm);
    cr_assert_eq (hv_vmdk_desc_info (two, sizeof two - 1, &cap, &is_rdm), 0);
    cr_assert_eq (cap, UINT64_C (4192264) * 512);
    cr_assert_eq (hv_vmdk_desc_info (rdm, sizeof rdm - 1, &cap, &is_rdm), 0);
    cr_assert (is_rdm);
    cr_assert_lt (hv_vmdk_desc_info ("KDMV", 4, &cap, &is_rdm), 0);
    cr_assert_lt (hv_vmdk_desc_info ("# Disk DescriptorFile\nRW x VMFS\n", 32,
                                     &cap, &is_rdm), 0);
    cr_assert_lt (hv_vmdk_desc_info ("# Disk DescriptorFile\nRW "
                                     "99999999999999999999999 VMFS \"a\"\n",
                                     58, &cap, &is_rdm), 0);
}
