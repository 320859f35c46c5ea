/* libFuzzer harness: every kind of ONTAP reply, from arbitrary bytes.
 *
 * The bytes go to each decoder directly (after vs_json_parse), then through
 * a client whose transport answers every request with them (status from
 * the first byte), so the retry, pagination, job and error paths see the
 * same garbage.  The clock is fake: backoff and polling cost nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "ontap/ontap.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

struct fz_transport {
    struct ontap_transport t;
    const uint8_t *data;
    size_t size;
    unsigned calls;
};

static const long fz_status[] = { 200, 201, 202, 404, 409, 500, 503, 400 };

static int
fz_send (struct ontap_transport *t, const struct ontap_http_request *rq,
         struct ontap_http_response *rs)
{
    struct fz_transport *f = (struct fz_transport *) t;

    (void) rq;
    if (++f->calls > 200) {
        return set_error (ECONNRESET, "fuzz: enough");
    }
    if (f->size == 0) {
        return set_error (ECONNREFUSED, "fuzz: empty");
    }
    rs->status = fz_status[f->data[0] % 8];
    if (vs_sbuf_add (&rs->body, f->data + 1, f->size - 1) < 0) {
        return -EFBIG;
    }
    return 0;
}

static void
fz_free (struct ontap_transport *t)
{
    (void) t;
}

static uint64_t fz_now_ms;

static uint64_t
fz_now (void *o)
{
    (void) o;
    return fz_now_ms;
}

static void
fz_sleep (void *o, uint64_t ms)
{
    (void) o;
    fz_now_ms += ms;
}

static void
fz_decoders (const uint8_t *data, size_t size)
{
    struct json_val *doc;
    struct ontap_version v;
    struct ontap_volume_vec vv = { 0 };
    struct ontap_snapshot_vec sv = { 0 };
    struct ontap_qtree_vec qv = { 0 };
    struct ontap_job j;
    char uuid[ONTAP_UUID_MAX + 1], *s = NULL, *code = NULL, *msg = NULL;

    if (vs_json_parse ((const char *) data, size, "fuzz", &doc) < 0) {
        return;
    }
    if (ontap_decode_version (doc, "f", &v) == 0) {
        ontap_version_release (&v);
    }
    ontap_decode_volumes (doc, "f", &vv);
    ontap_volume_vec_free (&vv);
    ontap_decode_snapshots (doc, "f", &sv);
    for (size_t i = 0; i < sv.len; i++) {
        int64_t t;

        if (sv.ptr[i].create_time) {
            ontap_time_parse (sv.ptr[i].create_time, &t);
        }
    }
    ontap_snapshot_vec_free (&sv);
    ontap_decode_qtrees (doc, "f", &qv);
    ontap_qtree_vec_free (&qv);
    if (ontap_decode_job (doc, "f", &j) == 0) {
        ontap_job_release (&j);
    }
    ontap_decode_job_link (doc, "f", uuid);
    if (ontap_decode_next (doc, "f", &s) == 0) {
        free (s);
    }
    ontap_decode_error (doc, &code, &msg);
    free (code);
    free (msg);
    vs_json_free (doc);
}

/* The records a caller keeps (a run's journal), read back */
static void
fz_records (const uint8_t *data, size_t size)
{
    struct ontap_volume v;
    struct ontap_snapshot s;
    struct ontap_qtree q;
    char *again = NULL;

    if (ontap_volume_from_record ((const char *) data, size, "f", &v) == 0) {
        if (ontap_volume_record (&v, &again) == 0) {
            free (again);
        }
        ontap_volume_release (&v);
    }
    if (ontap_snapshot_from_record ((const char *) data, size, "f", &s) == 0) {
        if (ontap_snapshot_record (&s, &again) == 0) {
            free (again);
        }
        ontap_snapshot_release (&s);
    }
    if (ontap_qtree_from_record ((const char *) data, size, "f", &q) == 0) {
        if (ontap_qtree_record (&q, &again) == 0) {
            free (again);
        }
        ontap_qtree_release (&q);
    }
}

static struct ontap_profile *
fz_profile (void)
{
    static const char cfg[] = "{\"profiles\": {\"f\": {\"cluster\": "
        "\"https://fuzz\", \"client_cert\": \"/c\", \"client_key\": \"/k\", "
        "\"svm\": \"s\", \"job_deadline\": 5, \"max_ranges_per_call\": 2}}}";
    struct ontap_profile *p = NULL;

    ontap_profile_parse (cfg, sizeof cfg - 1, "fuzz", "f", NULL, &p);
    return p;
}

static void
fz_client_calls (struct ontap_client *c)
{
    struct ontap_volume vol = { .uuid = "v1", .name = (char *) "vol1" };
    struct ontap_clone_range r[3] = {
        { 0, 0, 4096 }, { 8192, 16384, 4096 }, { 4096, 65536, 8192 },
    };
    struct ontap_version v;
    struct ontap_volume found;
    struct ontap_snapshot s;
    struct ontap_snapshot_vec sv = { 0 };
    enum ontap_outcome oc;
    uint64_t id;

    if (ontap_cluster_version (c, &v) == 0) {
        ontap_version_release (&v);
    }
    if (ontap_volume_find (c, "vol1", &found) == 0) {
        ontap_volume_release (&found);
    }
    if (ontap_snapshot_create (c, &vol, "snap1", NULL, &s) == 0) {
        ontap_snapshot_delete (c, &vol, &s);
        ontap_snapshot_release (&s);
    }
    if (ontap_snapshot_list (c, &vol, &sv) == 0) {
        ontap_snapshot_vec_free (&sv);
    }
    ontap_qtree_ensure (c, &vol, "q1", ONTAP_SEC_NTFS, 0, &id, NULL);
    ontap_file_clone (c, &vol, ".snapshot/s/a", "b", r, 3, NULL, &oc);
    ontap_job_wait (c, "job-1", 5, &oc);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static struct ontap_profile *prof;
    struct fz_transport f = { .data = data, .size = size };
    struct ontap_clock clk = { fz_now, fz_sleep, NULL };
    struct ontap_client *c = NULL;

    fz_decoders (data, size);
    fz_records (data, size);
    if (prof == NULL && (prof = fz_profile ()) == NULL) {
        abort ();
    }
    f.t.struct_size = sizeof f.t;
    f.t.send = fz_send;
    f.t.free = fz_free;
    if (ontap_client_new_take (prof, NULL, &f.t, &c) < 0) {
        abort ();
    }
    ontap_client_set_clock (c, &clk);
    fz_client_calls (c);
    ontap_client_free (c);
    return 0;
}
