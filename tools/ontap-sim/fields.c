/* ONTAP 9.15.1's field names for each resource the simulator serves,
 * and the check of a fields= list against them (docs/ontap-sim.md,
 * "fields=").  The names are ONTAP's, not the simulator's model: a
 * client may ask for a field the simulator does not fill (it is then
 * left out of the reply, as ONTAP leaves out fields a record lacks) but
 * a misspelt or too-new name is refused with ONTAP's error 262197.
 *
 * Sources (docs/ontap-sim.md lists them per resource):
 * - ONTAP REST API reference 9.15.1, the GET pages of each resource
 *   (https://docs.netapp.com/us-en/ontap-restapi-9151/), their
 *   "Filter by" query parameters and response members, with the
 *   "Introduced in" version of each: names introduced after 9.15 are
 *   not in the tables.
 * - The recorded replies in the corpus (volume-1.json.gz, cluster.json,
 *   the ansible collection's snapshot and qtree records): every path
 *   they hold must be accepted (tests/integration/ontap-sim-fidelity.sh).
 *
 * An entry "a.b" makes "a" and "a.b" valid; an entry "a.*" makes "a"
 * and every name below it valid (objects whose members the simulator
 * does not check one by one, such as statistics). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tools/ontap-sim/sim.h"

/* {name, uuid} references (svm, volume, aggregates, policies...). */
#define SIM_REF(p) p ".name", p ".uuid", p "._links.*"

static const char *const sim_f_cluster[] = {
    "name", "uuid", "location", "contact", "dns_domains", "name_servers",
    "ntp_servers", "timezone.name", "certificate.uuid", "certificate._links.*",
    "version.full", "version.generation", "version.major", "version.minor",
    "management_interface.*", "management_interfaces.name",
    "management_interfaces.uuid", "management_interfaces.ip.address",
    "management_interfaces._links.*", "metric.*", "statistics.*",
    "san_optimized", "peering_policy.authentication_required",
    "peering_policy.encryption_required",
    "peering_policy.minimum_passphrase_length", "license.*", "nodes.*",
    "configuration_backup.*", "auto_enable_activity_tracking",
    "auto_enable_analytics", "health", "_tags", NULL,
};

static const char *const sim_f_svm[] = {
    "name", "uuid", "state", "subtype", "comment", "language", "ipspace.*",
    SIM_REF ("snapshot_policy"), "aggregates.name", "aggregates.uuid",
    "aggregates.*", "aggregates_delegated", "anti_ransomware.*",
    "anti_ransomware_default_volume_state",
    "anti_ransomware_auto_switch_duration_without_new_file_extension",
    "anti_ransomware_auto_switch_from_learning_to_enabled",
    "anti_ransomware_auto_switch_minimum_file_count",
    "anti_ransomware_auto_switch_minimum_file_extension",
    "anti_ransomware_auto_switch_minimum_incoming_data",
    "anti_ransomware_auto_switch_minimum_learning_period",
    "anti_ransomware_incoming_write_threshold",
    "anti_ransomware_incoming_write_threshold_percent",
    "auto_enable_activity_tracking", "auto_enable_analytics",
    "certificate.*", "cifs.*", "dns.*", "fc_interfaces.*", "fcp.*",
    "ip_interfaces.*", "is_space_enforcement_logical",
    "is_space_reporting_logical", "iscsi.*", "ldap.*", "max_volumes",
    "ndmp.*", "nfs.*", "nis.*", "nsswitch.*", "number_of_volumes_in_recovery_queue",
    "nvme.*", "qos_adaptive_policy_group_template.*", "qos_policy.*",
    "qos_policy_group_template.*", "retention_period", "routes.*", "s3.*",
    "snapmirror.*", "storage.*", "total_volumes", "_tags", NULL,
};

static const char *const sim_f_volume[] = {
    "uuid", "name", "style", "type", "state", "size", "comment",
    "create_time", "language", "msid", "is_svm_root", "is_object_store",
    "is_constituent", "snapshot_count", "snapshot_directory_access_enabled",
    "snapshot_locking_enabled", "scheduled_snapshot_naming_scheme",
    "access_time_enabled", "aggressive_readahead_mode",
    "cloud_retrieval_policy", "cloud_write_enabled", "convert_unicode",
    "constituents_per_aggregate", "flexcache_endpoint_type", "granular_data",
    "max_dir_size", "optimize_aggregates", "queue_for_encryption",
    "use_mirrored_aggregates", "validate_only", "status", "_tags",
    SIM_REF ("svm"), SIM_REF ("aggregates"), SIM_REF ("snapshot_policy"),
    SIM_REF ("consistency_group"), SIM_REF ("flexgroup"),
    SIM_REF ("application"),
    "nas.path", "nas.security_style", "nas.uid", "nas.gid",
    "nas.unix_permissions", "nas.export_policy.id", "nas.export_policy.name",
    "nas.export_policy._links.*", SIM_REF ("nas.junction_parent"),
    "space.size", "space.available", "space.used", "space.afs_total",
    "space.auto_adaptive_compression_footprint_data_reduction",
    "space.available_percent", "space.block_storage_inactive_user_data",
    "space.block_storage_inactive_user_data_percent",
    "space.capacity_tier_footprint",
    "space.capacity_tier_footprint_data_reduction",
    "space.compaction_footprint_data_reduction",
    "space.cross_volume_dedupe_metafiles_footprint",
    "space.cross_volume_dedupe_metafiles_temporary_footprint",
    "space.dedupe_metafiles_footprint",
    "space.dedupe_metafiles_temporary_footprint",
    "space.delayed_free_footprint", "space.effective_total_footprint",
    "space.expected_available", "space.file_operation_metadata",
    "space.filesystem_size", "space.filesystem_size_fixed",
    "space.footprint", "space.fractional_reserve",
    "space.full_threshold_percent", "space.is_used_stale",
    "space.large_size_enabled", "space.local_tier_footprint",
    "space.logical_space.available", "space.logical_space.enforcement",
    "space.logical_space.reporting", "space.logical_space.used",
    "space.logical_space.used_by_afs",
    "space.logical_space.used_by_snapshots",
    "space.logical_space.used_percent", "space.max_size", "space.metadata",
    "space.nearly_full_threshold_percent", "space.over_provisioned",
    "space.overwrite_reserve", "space.overwrite_reserve_used",
    "space.percent_used", "space.performance_tier_footprint",
    "space.physical_used", "space.physical_used_percent",
    "space.size_available_for_snapshots",
    "space.snapmirror_destination_footprint",
    "space.snapshot.autodelete.commitment",
    "space.snapshot.autodelete.defer_delete",
    "space.snapshot.autodelete.delete_order",
    "space.snapshot.autodelete.prefix",
    "space.snapshot.autodelete.target_free_space",
    "space.snapshot.autodelete.trigger", "space.snapshot.autodelete_enabled",
    "space.snapshot.autodelete_trigger", "space.snapshot.reserve_available",
    "space.snapshot.reserve_percent", "space.snapshot.reserve_size",
    "space.snapshot.space_used_percent", "space.snapshot.used",
    "space.snapshot_reserve_unusable", "space.snapshot_spill",
    "space.total_footprint", "space.total_metadata",
    "space.total_metadata_footprint", "space.used_by_afs",
    "space.user_data", "space.volume_guarantee_footprint",
    "files.maximum", "files.used", "guarantee.honored", "guarantee.type",
    "autosize.grow_threshold", "autosize.maximum", "autosize.minimum",
    "autosize.mode", "autosize.shrink_threshold",
    "clone.inherited_physical_used", "clone.inherited_savings",
    "clone.is_flexclone", SIM_REF ("clone.parent_snapshot"),
    SIM_REF ("clone.parent_svm"), SIM_REF ("clone.parent_volume"),
    "clone.split_complete_percent", "clone.split_estimate",
    "clone.split_initiated",
    "activity_tracking.*", "analytics.*", "anti_ransomware.*",
    "asynchronous_directory_delete.*", "constituents.*", "efficiency.*",
    "encryption.*", "error_state.*", "flash_pool.*", "metric.*",
    "movement.*", "qos.*", "quota.*", "rebalancing.*", "snaplock.*",
    "snapmirror.*", "statistics.*", "tiering.*", NULL,
};

static const char *const sim_f_snapshot[] = {
    "uuid", "name", "create_time", "comment", "expiry_time", "logical_size",
    "owners", "reclaimable_space", "size", "snaplock_expiry_time",
    "snapmirror_label", "state", "version_uuid", "_tags",
    "delta.size_consumed", "delta.time_elapsed", "snaplock.*",
    SIM_REF ("provenance_volume"), SIM_REF ("svm"), SIM_REF ("volume"),
    NULL,
};

static const char *const sim_f_qtree[] = {
    "id", "name", "path", "security_style", "unix_permissions",
    "filesystem_path", "nas.path", "_tags",
    "export_policy.id", "export_policy.name", "export_policy._links.*",
    "group.id", "group.name", "user.id", "user.name",
    "qos_policy.max_throughput_iops", "qos_policy.max_throughput_mbps",
    "qos_policy.min_throughput_iops", "qos_policy.min_throughput_mbps",
    SIM_REF ("qos_policy"), "statistics.*",
    SIM_REF ("svm"), SIM_REF ("volume"), NULL,
};

static const char *const sim_f_job[] = {
    "uuid", "description", "state", "message", "code", "start_time",
    "end_time", "error.code", "error.message", "error.target",
    "error.arguments.code", "error.arguments.message", SIM_REF ("node"),
    SIM_REF ("svm"), NULL,
};

/* network/ip/interfaces (the ip_interface record). */
static const char *const sim_f_ip_interface[] = {
    "name", "uuid", "ip.address", "ip.family", "ip.netmask", "enabled",
    "state", "scope", "services", "ddns_enabled", "dns_zone", "fail_over",
    "probe_port", "rdma_protocols", "vip", "location.*", "metric.*",
    "statistics.*", SIM_REF ("ipspace"), SIM_REF ("service_policy"),
    SIM_REF ("subnet"), SIM_REF ("svm"), NULL,
};

static const struct {
    const char *resource;
    const char *const *names;
} sim_field_tables[] = {
    { "ip_interface", sim_f_ip_interface },
    { "cluster", sim_f_cluster },
    { "svm", sim_f_svm },
    { "volume", sim_f_volume },
    { "snapshot", sim_f_snapshot },
    { "qtree", sim_f_qtree },
    { "job", sim_f_job },
};

static bool
sim_field_entry_ok (const char *e, const char *name, size_t n)
{
    size_t el = strlen (e);

    if (el >= 2 && strcmp (e + el - 2, ".*") == 0) {
        el -= 2;
        /* "a.*" covers "a", "a.x", "a.x.y" */
        if (n == el || (n > el && name[el] == '.')) {
            return strncmp (e, name, el) == 0;
        }
        /* and "a" below a longer name: "a" is a prefix object of "p.a" */
        return n < el && e[n] == '.' && strncmp (e, name, n) == 0;
    }
    if (n > el || strncmp (e, name, n) != 0) {
        return false;
    }
    /* exact, or name is an object that holds e */
    return n == el || e[n] == '.';
}

bool
sim_field_known (const char *resource, const char *name, size_t n)
{
    if (n == 0) {
        return false;
    }
    if ((n == 6 && strncmp (name, "_links", 6) == 0) ||
        (n > 7 && strncmp (name, "_links.", 7) == 0)) {
        return true;
    }
    for (size_t t = 0; t < sizeof sim_field_tables / sizeof sim_field_tables[0];
         t++) {
        if (strcmp (sim_field_tables[t].resource, resource) != 0) {
            continue;
        }
        for (const char *const *e = sim_field_tables[t].names; *e; e++) {
            if (sim_field_entry_ok (*e, name, n)) {
                return true;
            }
        }
        return false;
    }
    /* A resource without a table: nothing is checked. */
    return true;
}

int
sim_fields_validate (const char *resource, const char *list,
                     const char **bad, size_t *badlen)
{
    const char *p = list;

    for (;;) {
        const char *c = strchr (p, ',');
        size_t n = c ? (size_t) (c - p) : strlen (p);

        /* Empty items (a trailing comma, ",,") are ignored. */
        if (n > 0 && !(n == 1 && p[0] == '*') &&
            !(n == 2 && p[0] == '*' && p[1] == '*') &&
            !sim_field_known (resource, p, n)) {
            *bad = p;
            *badlen = n;
            return -1;
        }
        if (c == NULL) {
            return 0;
        }
        p = c + 1;
    }
}
