/* Records a caller keeps of what it looked up (a run's journal: the
 * facts of docs/internals/ontap-flow.md, "Facts handed over"): written
 * as a reply holds them and read back through the reply decoders, with
 * their checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/vmshift.h"
#include "ontap/ontap.h"

#define VUUID "028baa66-41bd-11e9-81d5-00a0986138f7"

Test (records, volume_round_trip)
{
    struct ontap_volume v = {
        .uuid = VUUID, .name = (char *) "vol1", .style = (char *) "flexvol",
        .junction_path = (char *) "/vol1", .svm = (char *) "svm0",
    };
    struct ontap_volume back;
    char *json = NULL;

    cr_assert_eq (ontap_volume_record (&v, &json), 0);
    cr_assert_eq (ontap_volume_from_record (json, strlen (json), "t", &back),
                  0, "%s", vmshift_get_error ());
    cr_assert_str_eq (back.uuid, VUUID);
    cr_assert_str_eq (back.name, "vol1");
    cr_assert_str_eq (back.style, "flexvol");
    cr_assert_str_eq (back.junction_path, "/vol1");
    cr_assert_str_eq (back.svm, "svm0");
    ontap_volume_release (&back);
    free (json);
}

Test (records, volume_without_optional_fields)
{
    struct ontap_volume v = { .uuid = VUUID, .name = (char *) "vol2" };
    struct ontap_volume back;
    char *json = NULL;

    cr_assert_eq (ontap_volume_record (&v, &json), 0);
    cr_assert_eq (ontap_volume_from_record (json, strlen (json), "t", &back),
                  0);
    cr_assert_null (back.style);
    cr_assert_null (back.junction_path);
    cr_assert_null (back.svm);
    ontap_volume_release (&back);
    free (json);
}

Test (records, snapshot_and_qtree_round_trip)
{
    struct ontap_snapshot s = { .uuid = "3c50e0cb-023e-4363-b274-e08f97badb72",
                                .name = (char *) "vmshift-run-7" };
    struct ontap_qtree q = { .id = 12, .name = (char *) "kvm",
                             .security_style = ONTAP_SEC_NTFS,
                             .volume_uuid = VUUID };
    struct ontap_snapshot sb;
    struct ontap_qtree qb;
    char *js = NULL, *jq = NULL;

    cr_assert_eq (ontap_snapshot_record (&s, &js), 0);
    cr_assert_eq (ontap_snapshot_from_record (js, strlen (js), "t", &sb), 0);
    cr_assert_str_eq (sb.uuid, s.uuid);
    cr_assert_str_eq (sb.name, "vmshift-run-7");
    cr_assert_eq (ontap_qtree_record (&q, &jq), 0);
    cr_assert_eq (ontap_qtree_from_record (jq, strlen (jq), "t", &qb), 0);
    cr_assert_eq (qb.id, 12);
    cr_assert_str_eq (qb.name, "kvm");
    cr_assert_eq (qb.security_style, ONTAP_SEC_NTFS);
    cr_assert_str_eq (qb.volume_uuid, VUUID);
    ontap_snapshot_release (&sb);
    ontap_qtree_release (&qb);
    free (js);
    free (jq);
}

/* What is read back passes the decoders' checks: one record exactly, a
 * uuid fit for a URL, JSON at all. */
Test (records, refused)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"records\": []}",
        "{\"records\": [{\"uuid\": \"" VUUID "\", \"name\": \"a\"}, "
        "{\"uuid\": \"" VUUID "\", \"name\": \"b\"}]}",
        "{\"records\": [{\"uuid\": \"../../x\", \"name\": \"a\"}]}",
        "{\"records\": [{\"name\": \"a\"}]}",
        "{\"records\": {\"uuid\": \"" VUUID "\"}}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ontap_volume v = { .uuid = "" };
        struct ontap_snapshot s = { .uuid = "" };

        clear_error ();
        cr_assert_lt (ontap_volume_from_record (bad[i], strlen (bad[i]),
                                                "rec", &v), 0, "%s", bad[i]);
        cr_assert_neq (vmshift_get_error ()[0], '\0');
        cr_assert_null (v.name);
        cr_assert_lt (ontap_snapshot_from_record (bad[i], strlen (bad[i]),
                                                  "rec", &s), 0, "%s",
                      bad[i]);
    }
}

/* A snapshot's create_time as ONTAP gives it (with an offset, Z, a
 * fraction); anything else is refused, so that a job never takes a time
 * it misread for the one its run made the snapshot in (engine/jobs). */
Test (records, create_time)
{
    static const struct { const char *s; int64_t t; } good[] = {
        { "2026-12-03T13:00:00+00:00", 1796302800 },
        { "2026-12-03T13:00:00Z", 1796302800 },
        { "2026-12-03T14:30:00+01:30", 1796302800 },
        { "2026-12-03T08:00:00-0500", 1796302800 },
        { "2026-12-03T13:00:00.123456Z", 1796302800 },
        { "1970-01-01T00:00:00Z", 0 },
    };
    static const char *const bad[] = {
        "", "2026-12-03", "2026-12-03T13:00:00", "2026-12-03 13:00:00Z",
        "2026-13-03T13:00:00Z", "2026-02-30T13:00:00Z", "2026-12-03T24:00:00Z",
        "2026-12-03T13:00:00+0", "2026-12-03T13:00:00+00:00x",
        "1969-12-31T23:59:59Z", "2026-12-03T13:00:00+25:00",
        "2026-12-03T1:00:00Z",
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t t = -1;

        cr_assert_eq (ontap_time_parse (good[i].s, &t), 0, "%s", good[i].s);
        cr_assert_eq (t, good[i].t, "%s: %lld", good[i].s, (long long) t);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 0;

        cr_assert_eq (ontap_time_parse (bad[i], &t), -EINVAL, "%s", bad[i]);
    }
}
