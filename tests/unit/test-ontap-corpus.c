/* Recorded ONTAP replies from ../shared/corpus/ontap/, read in place, fed
 * through the client (fake transport) and the decoders.  Every recorded
 * reply that fits an endpoint the client implements is here:
 *
 *   harvest/cluster.json                      GET /api/cluster
 *   harvest/volume-1.json.gz                  GET /api/storage/volumes (185)
 *   harvest/volume-poll-1.json                volumes with other fields
 *   ansible volume_clone_rest__volume_clone   volume records
 *   ansible snapshot__create_response         POST snapshots (job link)
 *   ansible snapshot__snapshot_record         GET snapshots
 *   ansible snapshot__job_response            job record
 *   ansible qtree__job_info / qtree_record / job_not_found
 *   ansible rest_info__error_user_is_not_authorized
 *   ansible rest_info__job, restit__job_id_record,
 *           restit__job_response_record(_failure)
 *
 * Not endpoints of ours: harvest file_readdata (top-metrics), quota
 * (quota reports), api-private-cli-volume (CLI passthrough), ansible
 * metrocluster_return.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"

#define A "ontap/netapp.ontap-ansible/test_na_ontap_"

/* Queue corpus file rel as the next reply, or skip the test. */
static void
push_corpus (struct fake_transport *f, const char *rel)
{
    char why[512], *body = NULL;
    long status;

    if (!ontap_corpus_reply (rel, &status, &body, why, sizeof why)) {
        cr_skip_test ("%s", why);
    }
    fake_push (f, status, body);
    free (body);
}

static struct json_val *
corpus_doc (const char *rel)
{
    char why[512], *body = NULL;
    struct json_val *doc = NULL;
    long status;

    if (!ontap_corpus_reply (rel, &status, &body, why, sizeof why)) {
        cr_skip_test ("%s", why);
    }
    cr_assert_eq (vs_json_parse (body, strlen (body), rel, &doc), 0, "%s",
                  vmshift_internal_error_msg ());
    free (body);
    return doc;
}

Test (corpus, cluster_version)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c;
    struct ontap_version v;

    push_corpus (f, "ontap/harvest/cluster.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_cluster_version (c, &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (v.generation, 9);
    cr_assert_eq (v.major, 10);
    cr_assert_eq (v.minor, 1);
    cr_assert_str_eq (v.full, "NetApp Release 9.10.1X12: Wed Oct 13 10:38:21 "
                      "UTC 2021");
    cr_assert_eq (f->n_reqs, 1);
    cr_assert_str_eq (f->reqs[0].target, "/api/cluster?fields=version");
    ontap_version_release (&v);
    ontap_client_free (c);
}

Test (corpus, volume_list_185_records)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume_vec v = { 0 };
    struct ontap_client *c;
    size_t flexvol = 0, flexgroup = 0;

    push_corpus (f, "ontap/harvest/volume-1.json.gz");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_volume_list (c, NULL, &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes?fields=uuid,"
                      "name,style,nas.path,svm.name");
    cr_assert_eq (v.len, 185);
    cr_assert_str_eq (v.ptr[0].name,
                      "trident_pvc_6d88681a_7653_49c5_8970_eab7d84a55c2");
    cr_assert_str_eq (v.ptr[0].uuid, "0070e9cb-6be2-11ed-b1a6-00a098d39e12");
    cr_assert_str_eq (v.ptr[0].svm, "astra_300");
    cr_assert_null (v.ptr[0].junction_path);
    cr_assert_str_eq (v.ptr[184].name, "harvest_root");
    for (size_t i = 0; i < v.len; i++) {
        flexvol += strcmp (v.ptr[i].style, "flexvol") == 0;
        flexgroup += strcmp (v.ptr[i].style, "flexgroup") == 0;
    }
    cr_assert_eq (flexvol, 177);
    cr_assert_eq (flexgroup, 8);
    ontap_volume_vec_free (&v);
    ontap_client_free (c);
}

Test (corpus, volume_find_in_recorded_list)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol;
    struct ontap_client *c;

    for (int i = 0; i < 3; i++) {
        push_corpus (f, "ontap/harvest/volume-1.json.gz");
    }
    c = ontap_test_client (f, &clk, NULL, NULL);
    /* exact match among the records (ONTAP's filter is a pattern) */
    cr_assert_eq (ontap_volume_find (c, "harvest_root", &vol), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (vol.uuid, "ffd0f8f8-c74e-11ed-b61b-00a098d39e12");
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes?"
                      "name=harvest_root&fields=uuid,name,style,nas.path,"
                      "svm.name");
    ontap_volume_release (&vol);
    /* a FlexGroup is refused */
    cr_assert_eq (ontap_volume_find (c, "fg_oss_1679569283", &vol), -ENOTSUP);
    cr_assert (strstr (vmshift_internal_error_msg (), "flexgroup"));
    cr_assert (strstr (vmshift_internal_error_msg (), "FlexVol"));
    /* the same name on two SVMs is ambiguous without 'svm' */
    cr_assert_eq (ontap_volume_find (c, "vol_lun", &vol), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "set 'svm'"));
    ontap_client_free (c);
}

Test (corpus, volume_find_with_svm)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol;
    struct ontap_client *c;

    push_corpus (f, "ontap/harvest/volume-1.json.gz");
    c = ontap_test_client (f, &clk, NULL, "\"svm\": \"vs_test\"");
    cr_assert_eq (ontap_volume_find (c, "vol_lun", &vol), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (vol.uuid, "7f34feff-8c01-11ed-86dd-00a098d390f2");
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes?name=vol_lun&"
                      "svm.name=vs_test&fields=uuid,name,style,nas.path,"
                      "svm.name");
    ontap_volume_release (&vol);
    ontap_client_free (c);
}

Test (corpus, volume_records_without_style)
{
    struct json_val *doc = corpus_doc ("ontap/harvest/volume-poll-1.json");
    struct ontap_volume_vec v = { 0 };
    static const char *const names[] = {
        "osc_vol01", "RahulTest", "osc_iscsi_vol01", "h_test",
    };

    cr_assert_eq (ontap_decode_volumes (doc, "volume-poll-1", &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (v.len, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq (v.ptr[i].name, names[i]);
        cr_assert_null (v.ptr[i].style);
        cr_assert_str_eq (v.ptr[i].svm, "osc");
    }
    cr_assert_str_eq (v.ptr[0].uuid, "03613247-54ac-4127-a512-afb331f1c207");
    ontap_volume_vec_free (&v);
    vs_json_free (doc);
}

Test (corpus, volume_find_refuses_unknown_style)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol;
    struct ontap_client *c;

    push_corpus (f, "ontap/harvest/volume-poll-1.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_volume_find (c, "h_test", &vol), -EPROTO);
    cr_assert (strstr (vmshift_internal_error_msg (), "style of volume "
                       "'h_test'"));
    ontap_client_free (c);
}

Test (corpus, volume_clone_records)
{
    struct json_val *doc;
    struct ontap_volume_vec v = { 0 };

    doc = corpus_doc (A "volume_clone_rest__volume_clone.json");

    cr_assert_eq (ontap_decode_volumes (doc, "volume_clone", &v), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (v.len, 1);
    cr_assert_str_eq (v.ptr[0].name, "ansibleVolume12_clone");
    cr_assert_str_eq (v.ptr[0].uuid, "2458688d-7e24-11ec-a267-005056b30cfa");
    cr_assert_str_eq (v.ptr[0].svm, "ansibleSVM");
    ontap_volume_vec_free (&v);
    vs_json_free (doc);
}

Test (corpus, snapshot_create_quick_job_and_record)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol = { .uuid = "d9cd4ec5-c96d-11eb-9271-005056b3ef5a",
                                .name = (char *) "ansible_vol" };
    struct ontap_snapshot s;
    struct ontap_client *c;

    push_corpus (f, A "snapshot__create_response.json");
    push_corpus (f, A "snapshot__snapshot_record.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_snapshot_create (c, &vol, "ss1", "123", &s), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (s.uuid, "343b5227-8c6b-4e79-a133-304bbf7537ce");
    cr_assert_str_eq (s.name, "ss1");
    cr_assert_str_eq (s.create_time, "2021-06-10T17:24:41-04:00");
    /* 200 within return_timeout: no job poll */
    cr_assert_eq (f->n_reqs, 2);
    cr_assert_str_eq (f->reqs[0].method, "POST");
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/volumes/d9cd4ec5-c96d-"
                      "11eb-9271-005056b3ef5a/snapshots?return_timeout=30");
    cr_assert_str_eq (f->reqs[0].body,
                      "{\"name\":\"ss1\",\"comment\":\"123\"}");
    cr_assert_str_eq (f->reqs[1].target, "/api/storage/volumes/d9cd4ec5-c96d-"
                      "11eb-9271-005056b3ef5a/snapshots?name=ss1&fields=uuid,"
                      "name,create_time");
    ontap_snapshot_release (&s);
    ontap_client_free (c);
}

Test (corpus, snapshot_job_record)
{
    struct json_val *doc = corpus_doc (A "snapshot__job_response.json");
    struct ontap_job j;

    cr_assert_eq (ontap_decode_job (doc, "job", &j), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (j.uuid, "e43a40db-cd61-11eb-a170-005056b338cd");
    cr_assert_eq (j.state, ONTAP_JOB_SUCCESS);
    cr_assert_eq (j.code, 0);
    cr_assert_str_eq (j.message, "success");
    cr_assert_str_eq (j.description, "PATCH /api/storage/volumes/d9cd4ec5-"
                      "c96d-11eb-9271-005056b3ef5a/snapshots/da995362-cd61-"
                      "11eb-a170-005056b338cd");
    ontap_job_release (&j);
    vs_json_free (doc);
}

Test (corpus, qtree_created_then_fetched)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol = { .uuid = "uuid", .name = (char *) "volume1",
                                .svm = (char *) "ansible" };
    struct ontap_client *c;
    uint64_t id = 0;

    fake_push (f, 200, "{\"records\": [], \"num_records\": 0}");
    push_corpus (f, A "qtree__job_info.json");
    push_corpus (f, A "qtree__qtree_record.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_qtree_ensure (c, &vol, "ansible", ONTAP_SEC_UNIX, 0, &id,
                                      NULL),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_eq (id, 1);
    cr_assert_eq (f->n_reqs, 3);
    cr_assert_str_eq (f->reqs[0].target, "/api/storage/qtrees?volume.uuid="
                      "uuid&name=ansible&fields=id,name,security_style,"
                      "volume.uuid");
    cr_assert_str_eq (f->reqs[1].method, "POST");
    cr_assert_str_eq (f->reqs[1].target, "/api/storage/qtrees?"
                      "return_timeout=30");
    cr_assert_str_eq (f->reqs[1].body, "{\"svm\":{\"name\":\"ansible\"},"
                      "\"volume\":{\"uuid\":\"uuid\"},\"name\":\"ansible\","
                      "\"security_style\":\"unix\"}");
    cr_assert_str_eq (f->reqs[2].target, f->reqs[0].target);
    ontap_client_free (c);
}

Test (corpus, qtree_exists_with_other_style)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_volume vol = { .uuid = "uuid", .name = (char *) "volume1" };
    struct ontap_client *c;
    uint64_t id = 0;

    push_corpus (f, A "qtree__qtree_record.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_qtree_ensure (c, &vol, "ansible", ONTAP_SEC_NTFS, 0, &id,
                                      NULL),
                  -EEXIST);
    cr_assert (strstr (vmshift_internal_error_msg (), "security style 'unix', "
                       "not 'ntfs'"));
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

Test (corpus, job_not_found_is_unknown)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c;
    enum ontap_outcome oc = ONTAP_DONE;

    push_corpus (f, A "qtree__job_not_found.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_job_wait (c, "d78811c1-aebc-11ec-b4de-005056b30cfa",
                                  600, &oc), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (oc, ONTAP_UNKNOWN);
    cr_assert_str_eq (f->reqs[0].target, "/api/cluster/jobs/d78811c1-aebc-"
                      "11ec-b4de-005056b30cfa?fields=uuid,state,message,code,"
                      "description");
    ontap_client_free (c);
}

Test (corpus, user_not_authorized)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_version v;
    struct ontap_client *c;

    push_corpus (f, A "rest_info__error_user_is_not_authorized.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    /* HTTP 500 but ONTAP code 6 (permission denied): not retried */
    cr_assert_eq (ontap_cluster_version (c, &v), -EACCES);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/cluster: "
                      "user is not authorized (HTTP 500, error 6)");
    cr_assert_eq (f->n_reqs, 1);
    ontap_client_free (c);
}

Test (corpus, job_records_success_and_failure)
{
    struct fake_transport *f = fake_new ();
    struct fake_clock clk = { 0 };
    struct ontap_client *c;
    enum ontap_outcome oc;

    push_corpus (f, A "rest_info__job.json");
    push_corpus (f, A "restit__job_response_record.json");
    push_corpus (f, A "restit__job_response_record_failure.json");
    c = ontap_test_client (f, &clk, NULL, NULL);
    cr_assert_eq (ontap_job_wait (c, "cca3d070-58c6-11ea-8c0c-005056826c14",
                                  60, &oc), 0);
    cr_assert_eq (oc, ONTAP_DONE);
    cr_assert_eq (ontap_job_wait (c, "f03ccbb6-d8bb-11eb-ac81-00505690980f",
                                  60, &oc), 0);
    cr_assert_eq (ontap_job_wait (c, "f03ccbb6-d8bb-11eb-ac81-00505690980f",
                                  60, &oc), -EREMOTEIO);
    cr_assert (strstr (vmshift_internal_error_msg (), "Forcing some error for "
                       "UT."));
    cr_assert (strstr (vmshift_internal_error_msg (),
                       "f03ccbb6-d8bb-11eb-ac81-00505690980f"));
    cr_assert (strstr (vmshift_internal_error_msg (), "File Directory Security "
                       "Apply Job"));
    cr_assert_eq (clk.n_sleeps, 0);
    ontap_client_free (c);
}

Test (corpus, job_record_fields)
{
    struct json_val *doc = corpus_doc (A "rest_info__job.json");
    struct ontap_job j;

    cr_assert_eq (ontap_decode_job (doc, "job", &j), 0);
    cr_assert_eq (j.code, 2432836);
    cr_assert_eq (j.state, ONTAP_JOB_SUCCESS);
    cr_assert_str_eq (j.message, "There are not enough disks in Pool1.");
    cr_assert_str_eq (j.description, "POST /api/cluster/metrocluster");
    ontap_job_release (&j);
    vs_json_free (doc);
}

Test (corpus, job_links)
{
    static const struct {
        const char *rel, *uuid;
    } t[] = {
        { A "restit__job_id_record.json",
          "94b6e6a7-d426-11eb-ac81-00505690980f" },
        { A "qtree__job_info.json", "d78811c1-aebc-11ec-b4de-005056b30cfa" },
        { A "snapshot__create_response.json",
          "d0b3eefe-cd59-11eb-a170-005056b338cd" },
    };

    for (size_t i = 0; i < 3; i++) {
        struct json_val *doc = corpus_doc (t[i].rel);
        char uuid[ONTAP_UUID_MAX + 1];

        cr_assert_eq (ontap_decode_job_link (doc, t[i].rel, uuid), 0);
        cr_assert_str_eq (uuid, t[i].uuid);
        vs_json_free (doc);
    }
}
