/* ontap/clone.c: range checks, merging, chunking, the exact clone
 * requests, and the request budget per disk. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"

#define K4 4096ULL
#define VOL "vol-uuid-1"

static const struct ontap_volume test_vol = {
    .uuid = VOL, .name = (char *) "ds1", .svm = (char *) "svm0",
};

/* n ranges that cannot merge: each source block i goes to 2i. */
static struct ontap_clone_range *
sparse_ranges (size_t n)
{
    struct ontap_clone_range *r = calloc (n, sizeof *r);

    for (size_t i = 0; i < n; i++) {
        r[i] = (struct ontap_clone_range) { i * K4, 2 * i * K4, K4 };
    }
    return r;
}

Test (clone_plan, thirty_three_ranges_make_two_calls)
{
    struct ontap_clone_range *r = sparse_ranges (33);
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (r, 33, 32, &p), 0);
    cr_assert_eq (p.ranges.len, 33);
    cr_assert_eq (ontap_clone_plan_calls (&p), 2);
    cr_assert_eq (p.call_start.ptr[0], 0);
    cr_assert_eq (p.call_start.ptr[1], 32);
    ontap_clone_plan_release (&p);
    cr_assert_eq (ontap_clone_plan_make (r, 32, 32, &p), 0);
    cr_assert_eq (ontap_clone_plan_calls (&p), 1);
    ontap_clone_plan_release (&p);
    cr_assert_eq (ontap_clone_plan_make (r, 33, 10, &p), 0);
    cr_assert_eq (ontap_clone_plan_calls (&p), 4);
    ontap_clone_plan_release (&p);
    free (r);
}

Test (clone_plan, adjacent_ranges_merge_in_any_order)
{
    /* 100 consecutive 1 MiB pieces, given backwards, are one range. */
    struct ontap_clone_range r[100];
    struct ontap_clone_plan p;

    for (size_t i = 0; i < 100; i++) {
        size_t k = 99 - i;

        r[i] = (struct ontap_clone_range) { 8 * K4 + k * 256 * K4,
                                            1024 * K4 + k * 256 * K4,
                                            256 * K4 };
    }
    cr_assert_eq (ontap_clone_plan_make (r, 100, 32, &p), 0);
    cr_assert_eq (p.ranges.len, 1);
    cr_assert_eq (p.ranges.ptr[0].src, 8);
    cr_assert_eq (p.ranges.ptr[0].dst, 1024);
    cr_assert_eq (p.ranges.ptr[0].count, 25600);
    cr_assert_eq (ontap_clone_plan_calls (&p), 1);
    ontap_clone_plan_release (&p);
}

Test (clone_plan, contiguous_destination_but_not_source_stays_apart)
{
    struct ontap_clone_range r[2] = {
        { 0, 0, 4 * K4 }, { 100 * K4, 4 * K4, 4 * K4 },
    };
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (r, 2, 32, &p), 0);
    cr_assert_eq (p.ranges.len, 2);
    ontap_clone_plan_release (&p);
}

Test (clone_plan, misaligned_ranges_refused)
{
    struct ontap_clone_range bad[] = {
        { 512, 0, K4 }, { 0, 100, K4 }, { 0, 0, 1000 }, { 0, 0, 0 },
        { UINT64_MAX - K4 + 1, 0, 2 * K4 },
    };
    struct ontap_clone_plan p;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq (ontap_clone_plan_make (&bad[i], 1, 32, &p), -EINVAL,
                      "range %zu", i);
    }
    cr_assert_eq (ontap_clone_plan_make (&bad[0], 1, 32, &p), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "not 4 KiB aligned"));
}

Test (clone_plan, overlapping_destinations_refused)
{
    struct ontap_clone_range r[3] = {
        { 0, 0, 4 * K4 }, { 50 * K4, 10 * K4, 4 * K4 },
        { 90 * K4, 3 * K4, 2 * K4 },
    };
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (r, 3, 32, &p), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "overlap in the "
                       "destination at byte 12288"));
}

Test (clone_plan, overlapping_sources_go_to_separate_calls)
{
    /* The same source block twice (e.g. a shared zero grain): legal for
     * us, but ONTAP refuses overlapping sources in one call. */
    struct ontap_clone_range r[3] = {
        { 0, 0, 2 * K4 }, { 10 * K4, 5 * K4, K4 }, { K4, 100 * K4, K4 },
    };
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (r, 3, 32, &p), 0);
    cr_assert_eq (p.ranges.len, 3);
    cr_assert_eq (ontap_clone_plan_calls (&p), 2);
    cr_assert_eq (p.call_start.ptr[1], 2);
    ontap_clone_plan_release (&p);
}

Test (clone_plan, huge_range_split_below_2_32_blocks)
{
    struct ontap_clone_range r = { 0, 0, 20ULL << 40 };   /* 20 TiB */
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (&r, 1, 32, &p), 0);
    cr_assert_eq (p.ranges.len, 2);
    cr_assert_eq (p.ranges.ptr[0].count, 0xffffffffULL);
    cr_assert_eq (p.ranges.ptr[0].count + p.ranges.ptr[1].count,
                  (20ULL << 40) / K4);
    cr_assert_eq (p.ranges.ptr[1].src, 0xffffffffULL);
    ontap_clone_plan_release (&p);
}

Test (clone_plan, bad_limits)
{
    struct ontap_clone_range r = { 0, 0, K4 };
    struct ontap_clone_plan p;

    cr_assert_eq (ontap_clone_plan_make (&r, 0, 32, &p), -EINVAL);
    cr_assert_eq (ontap_clone_plan_make (&r, 1, 0, &p), -EINVAL);
    cr_assert_eq (ontap_clone_plan_make (&r, 1, ONTAP_RANGES_MAX + 1, &p),
                  -EINVAL);
}

/* ------------------------------------------------------------ calls */

Test (clone, exact_request_and_chunks)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range *r = sparse_ranges (33);
    struct ontap_clone_result res;
    enum ontap_outcome oc;
    char want[256];

    fake_push (f, 201, "{\"job\": {\"uuid\": \"j1\"}}");
    fake_push (f, 200, "{\"job\": {\"uuid\": \"j2\"}}");
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s1/vm/d-flat.vmdk",
                                    "vm/.d.vhdx.tmp", r, 33, &res, &oc), 0,
                  "%s", vmshift_internal_error_msg ());
    cr_assert_eq (oc, ONTAP_DONE);
    cr_assert_eq (res.calls, 2);
    cr_assert_eq (res.blocks, 33);
    cr_assert_eq (f->n_reqs, 2);
    cr_assert_str_eq (f->reqs[0].method, "POST");
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/file/clone?"
                      "return_timeout=30");
    cr_assert_str_eq (fake_header (&f->reqs[0], "Content-Type:"),
                      "Content-Type: application/json");
    snprintf (want, sizeof want, "{\"volume\":{\"uuid\":\"" VOL "\",\"name\":"
              "\"ds1\"},\"source_path\":\".snapshot/s1/vm/d-flat.vmdk\","
              "\"destination_path\":\"vm/.d.vhdx.tmp\",\"range\":[\"0:0:1\","
              "\"1:2:1\",");
    cr_assert (strncmp (f->reqs[0].body, want, strlen (want)) == 0, "%s",
               f->reqs[0].body);
    cr_assert (strstr (f->reqs[0].body, "\"31:62:1\"],\"overwrite_destination"
                       "\":true}"));
    cr_assert_null (strstr (f->reqs[0].body, "\"32:64:1\""));
    snprintf (want, sizeof want, "{\"volume\":{\"uuid\":\"" VOL "\",\"name\":"
              "\"ds1\"},\"source_path\":\".snapshot/s1/vm/d-flat.vmdk\","
              "\"destination_path\":\"vm/.d.vhdx.tmp\",\"range\":"
              "[\"32:64:1\"],\"overwrite_destination\":true}");
    cr_assert_str_eq (f->reqs[1].body, want);
    free (r);
    ontap_client_free (c);
}

Test (clone, ranges_per_call_from_profile)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL,
                                                "\"max_ranges_per_call\": 8");
    struct ontap_clone_range *r = sparse_ranges (17);
    enum ontap_outcome oc;

    for (int i = 0; i < 3; i++) {
        fake_push (f, 201, "");
    }
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", r, 17,
                                    NULL, &oc), 0);
    cr_assert_eq (f->n_reqs, 3);
    free (r);
    ontap_client_free (c);
}

Test (clone, split_load_refusal_backs_off)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range r = { 0, 0, 256 * K4 };
    enum ontap_outcome oc;

    fake_push (f, 400, "{\"error\": {\"message\": \"Reached maximum split load "
               "allowed on the node\", \"code\": \"13565958\"}}");
    fake_push (f, 400, "{\"error\": {\"message\": \"Clone split load "
               "exceeded\", \"code\": \"13565958\"}}");
    fake_push (f, 201, "");
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", &r, 1,
                                    NULL, &oc), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_eq (clk.n_sleeps, 2);
    cr_assert_eq (clk.sleeps[0], 500);
    cr_assert_eq (clk.sleeps[1], 1000);
    ontap_client_free (c);
}

Test (clone, ranged_clone_resent_after_lost_reply)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range r = { 0, 0, K4 };
    enum ontap_outcome oc;

    fake_push_err (f, -ECONNRESET);
    fake_push (f, 500, "");
    fake_push (f, 201, "");
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", &r, 1,
                                    NULL, &oc), 0);
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_str_eq (f->reqs[0].body, f->reqs[2].body);
    ontap_client_free (c);
}

Test (clone, vanished_job_is_unknown)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range *r = sparse_ranges (40);
    struct ontap_clone_result res;
    enum ontap_outcome oc;

    fake_push (f, 202, "{\"job\": {\"uuid\": \"j1\"}}");
    fake_push (f, 404, "{\"error\": {\"code\": \"4\", \"message\": \"entry "
               "doesn't exist\"}}");
    fake_push (f, 201, "");
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", r, 40,
                                    &res, &oc), 0);
    cr_assert_eq (oc, ONTAP_UNKNOWN);
    cr_assert_eq (res.calls, 2);
    cr_assert_eq (res.unknown_calls, 1);
    free (r);
    ontap_client_free (c);
}

Test (clone, failure_names_the_call)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range *r = sparse_ranges (40);
    enum ontap_outcome oc;

    fake_push (f, 201, "");
    fake_push (f, 400, "{\"error\": {\"code\": \"13107329\", \"message\": "
               "\"Destination file does not exist\"}}");
    cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", r, 40,
                                    NULL, &oc), -EINVAL);
    cr_assert_str_eq (vmshift_internal_error_msg (), "cloning '.snapshot/s/a' "
                      "to 'b' (call 2 of 2): ONTAP POST /api/storage/file/"
                      "clone: Destination file does not exist (HTTP 400, "
                      "error 13107329)");
    free (r);
    ontap_client_free (c);
}

Test (clone, bad_paths_refused_before_sending)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_clone_range r = { 0, 0, K4 };
    enum ontap_outcome oc;
    static const char *const bad[] = {
        "", "/abs", "a/../b", "a//b", "a/", "./a", "a\\b", "a\nb", "\xff\xfe",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq (ontap_file_clone (c, &test_vol, bad[i], "dst", &r, 1,
                                        NULL, &oc), -EINVAL, "%zu", i);
        cr_expect_eq (ontap_file_clone_whole (c, &test_vol, "src", bad[i],
                                              false, &oc), -EINVAL, "%zu", i);
    }
    cr_assert_eq (ontap_file_clone (c, &test_vol, "same", "same", &r, 1, NULL,
                                    &oc), -EINVAL);
    cr_assert_eq (f->n_reqs, 0);
    ontap_client_free (c);
}

Test (clone, whole_file)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    enum ontap_outcome oc;

    fake_push (f, 201, "{\"job\": {\"uuid\": \"j1\"}}");
    cr_assert_eq (ontap_file_clone_whole (c, &test_vol, ".snapshot/s/d.img",
                                          "out/d.img", false, &oc), 0);
    cr_assert_eq (oc, ONTAP_DONE);
    cr_assert_str_eq (f->reqs[0].body, "{\"volume\":{\"uuid\":\"" VOL "\","
                      "\"name\":\"ds1\"},\"source_path\":\".snapshot/s/d.img\","
                      "\"destination_path\":\"out/d.img\","
                      "\"overwrite_destination\":false}");
    /* without overwrite a 5xx is not resent: the file may exist now */
    fake_push (f, 500, "");
    fake_push (f, 201, "");
    cr_assert_eq (ontap_file_clone_whole (c, &test_vol, ".snapshot/s/d.img",
                                          "out/d.img", false, &oc), -EIO);
    cr_assert_eq (f->n_reqs, 2);
    ontap_client_free (c);
}

/* The per-disk budget: with jobs done within return_timeout, a disk
 * whose placements merge into at most 32 ranges costs one REST call;
 * the per-run calls (version, volume, snapshot create + lookup, qtree,
 * snapshot delete) are counted separately. */
Test (clone, request_budget_per_disk)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c = ontap_test_client (f, &clk, NULL, NULL);
    struct ontap_stats before, after;
    struct ontap_clone_range r[64];
    enum ontap_outcome oc;

    /* 64 placements of a VHDX payload: 1 MiB blocks laid out in order */
    for (size_t i = 0; i < 64; i++) {
        r[i] = (struct ontap_clone_range) { i << 20, (4ULL << 20) + (i << 20),
                                            1ULL << 20 };
    }
    for (int d = 0; d < 3; d++) {
        fake_push (f, 201, "{\"job\": {\"uuid\": \"j\"}}");
    }
    ontap_client_stats (c, &before);
    for (int d = 0; d < 3; d++) {
        cr_assert_eq (ontap_file_clone (c, &test_vol, ".snapshot/s/a", "b", r,
                                        64, NULL, &oc), 0);
    }
    ontap_client_stats (c, &after);
    cr_assert_eq (after.requests - before.requests, 3);
    cr_assert_eq (after.job_polls, 0);
    ontap_client_free (c);
}
