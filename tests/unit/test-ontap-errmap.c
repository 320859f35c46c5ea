/* ontap/errmap.c: HTTP status + ONTAP error -> errno and message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "engine/base/error.h"
#include "ontap/ontap.h"

static const struct {
    long status;
    const char *code;
    const char *msg;
    int err;
} errmap_table[] = {
    /* HTTP status alone */
    { 400, NULL, NULL, EINVAL },
    { 401, NULL, NULL, EKEYREJECTED },
    { 403, NULL, NULL, EACCES },
    { 404, NULL, NULL, ENOENT },
    { 405, NULL, NULL, ENOTSUP },
    { 409, NULL, NULL, EEXIST },
    { 413, NULL, NULL, EFBIG },
    { 429, NULL, NULL, EBUSY },
    { 500, NULL, NULL, EIO },
    { 502, NULL, NULL, EIO },
    { 503, NULL, NULL, EIO },
    { 504, NULL, NULL, ETIMEDOUT },
    { 418, NULL, NULL, EINVAL },
    { 302, NULL, NULL, EPROTO },
    { 0, NULL, NULL, EPROTO },
    /* documented common ONTAP codes win over the status */
    { 409, "1", "duplicate entry", EEXIST },
    { 400, "2", "invalid field", EINVAL },
    { 400, "3", "not supported", ENOTSUP },
    { 404, "4", "entry doesn't exist", ENOENT },
    { 500, "6", "user is not authorized", EACCES },
    /* ... except "exists" on a server error: a server failure */
    { 500, "1", "Simulated internal error", EIO },
    { 503, "1", "internal error", EIO },
    { 409, "8", "resource in use", EBUSY },
    /* busy refusals by message */
    { 400, "13565966", "Reached maximum split load allowed on the node",
      EBUSY },
    { 409, "1638555", "Snapshot copy is busy", EBUSY },
    { 500, "12345", "Snapshot is BUSY", EBUSY },
    /* unknown code: the status decides */
    { 400, "917927", "Volume not found", EINVAL },
    { 500, "999", "internal error", EIO },
};

Test (errmap, table)
{
    for (size_t i = 0; i < sizeof errmap_table / sizeof errmap_table[0]; i++) {
        int e = ontap_errno_for (errmap_table[i].status, errmap_table[i].code,
                                 errmap_table[i].msg);

        cr_expect_eq (e, errmap_table[i].err,
                      "row %zu (HTTP %ld, code %s): got %s, want %s", i,
                      errmap_table[i].status,
                      errmap_table[i].code ? errmap_table[i].code : "-",
                      strerror (e), strerror (errmap_table[i].err));
    }
}

Test (errmap, message_keeps_method_path_status_code_and_message)
{
    int r = ontap_set_http_error ("POST", "/api/storage/file/clone"
                                  "?return_timeout=30", 400, "13107329",
                                  "File does not exist");
    const char *m = vmshift_internal_error_msg ();

    cr_assert_eq (r, -EINVAL);
    cr_assert_str_eq (m, "ONTAP POST /api/storage/file/clone: File does not "
                      "exist (HTTP 400, error 13107329)");
    cr_assert_eq (vmshift_internal_error_errno (), EINVAL);
}

Test (errmap, message_without_ontap_error)
{
    cr_assert_eq (ontap_set_http_error ("GET", "/api/cluster", 502, NULL,
                                        NULL), -EIO);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/cluster: "
                      "HTTP 502 without an ONTAP error");
    cr_assert_eq (ontap_set_http_error ("GET", "/api/x", 404, "4", NULL),
                  -ENOENT);
    cr_assert_str_eq (vmshift_internal_error_msg (), "ONTAP GET /api/x: "
                      "HTTP 404, error 4");
}

Test (errmap, server_text_cannot_forge_a_second_line)
{
    ontap_set_http_error ("GET", "/api/x", 500, "1x",
                          "bad\nERROR: forged line");
    cr_assert_null (strchr (vmshift_internal_error_msg (), '\n'));
    cr_assert (strstr (vmshift_internal_error_msg (), "bad?ERROR"));
}

Test (errmap, long_server_message_is_capped)
{
    char big[2000];

    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ontap_set_http_error ("GET", "/api/x", 500, "5", big);
    cr_assert_lt (strlen (vmshift_internal_error_msg ()), 400);
    cr_assert (strstr (vmshift_internal_error_msg (), "(HTTP 500, error 5)"));
}

Test (errmap, busy_detection)
{
    cr_assert (ontap_is_busy ("8", NULL));
    cr_assert (ontap_is_busy (NULL, "Clone split load exceeded"));
    cr_assert (ontap_is_busy ("1", "volume is busy"));
    cr_assert_not (ontap_is_busy ("4", "entry doesn't exist"));
    cr_assert_not (ontap_is_busy (NULL, NULL));
}

/* A server failure without a more precise code is the cluster's and may
 * pass: class REMOTE, retryable (a migration run redoes its step); a
 * definite answer (404, a failed job's code) is neither. */
Test (errmap, retryable_class)
{
    struct vmshift_error_save s;
    int cls, retry;

    ontap_set_http_error ("POST", "/api/storage/file/clone", 500, "1",
                          "Simulated internal error");
    cr_expect_eq (vmshift_internal_error_get_class (), VS_ERRCLASS_REMOTE);
    cr_expect (vmshift_internal_error_retryable ());
    /* carried by error_save (ONTAP's workers) */
    error_save (&s);
    clear_error ();
    cr_expect_not (vmshift_internal_error_retryable ());
    vmshift_internal_error_save_class (&s, &cls, &retry);
    cr_expect_eq (cls, VS_ERRCLASS_REMOTE);
    cr_expect (retry);
    /* a new error starts unmarked */
    error_restore (&s);
    set_error (EIO, "another");
    cr_expect_not (vmshift_internal_error_retryable ());

    ontap_set_http_error ("GET", "/api/storage/volumes", 404, NULL, NULL);
    cr_expect_eq (vmshift_internal_error_get_class (), VS_ERRCLASS_UNKNOWN);
    cr_expect_not (vmshift_internal_error_retryable ());
    ontap_set_http_error ("POST", "/api/storage/file/clone", 409, "8",
                          "resource in use");
    cr_expect (vmshift_internal_error_retryable ());
    clear_error ();
}
