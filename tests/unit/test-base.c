/* engine/base: errors, sbuf, JSON writer and reader, endian helpers. */
#include <criterion/criterion.h>
#include <string.h>
#include <stdlib.h>

#include "engine/base/endian.h"
#include "engine/base/error.h"
#include "engine/base/json.h"
#include "engine/base/jsonw.h"
#include "engine/base/sbuf.h"

Test (error, set_returns_negative_errno_and_prepend_keeps_cause)
{
    cr_assert_eq (set_error (EINVAL, "bad %s", "thing"), -EINVAL);
    error_prepend ("reading 'x': ");
    cr_assert_str_eq (vmshift_internal_error_msg (), "reading 'x': bad thing");
    cr_assert_eq (vmshift_internal_error_errno (), EINVAL);
}

Test (error, messages_are_one_line)
{
    set_error (EIO, "name 'a\nb'");
    cr_assert_str_eq (vmshift_internal_error_msg (), "name 'a?b'");
}

Test (sbuf, cap_is_enforced_and_sticky)
{
    struct sbuf b;

    vs_sbuf_init (&b, 8);
    cr_assert_eq (vs_sbuf_addstr (&b, "12345678"), 0);
    cr_assert_eq (vs_sbuf_addch (&b, '9'), -EFBIG);
    cr_assert_eq (vs_sbuf_addstr (&b, ""), -EFBIG);
    cr_assert_null (vs_sbuf_detach (&b, NULL));
}

Test (sbuf, detach_of_an_empty_buffer_is_the_empty_string)
{
    struct sbuf b;
    size_t len = 99;
    char *s;

    vs_sbuf_init (&b, 64);
    s = vs_sbuf_detach (&b, &len);
    cr_assert_not_null (s);
    cr_assert_str_eq (s, "");
    cr_assert_eq (len, 0);
    free (s);
}

Test (jsonw, escapes_and_replaces_invalid_utf8)
{
    struct sbuf b;
    struct jsonw w;
    char *s;

    vs_sbuf_init (&b, 1024);
    vs_jw_init (&w, &b, false);
    vs_jw_obj_begin (&w);
    vs_jw_kv_str (&w, "n", "a\"b\\c\n\x01\xff\xc3\xa9");
    vs_jw_kv_u64 (&w, "x", 18446744073709551615ULL);
    vs_jw_key (&w, "l");
    vs_jw_arr_begin (&w);
    vs_jw_bool (&w, true);
    vs_jw_null (&w);
    vs_jw_arr_end (&w);
    vs_jw_obj_end (&w);
    s = vs_sbuf_detach (&b, NULL);
    cr_assert_str_eq (s, "{\"n\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\","
                      "\"x\":18446744073709551615,\"l\":[true,null]}");
    free (s);
}

Test (json, typed_getters_name_the_path)
{
    const char *doc = "{\"a\":{\"b\":[1,{\"c\":\"x\"}]},\"n\":-3,\"f\":1.5}";
    struct json_val *v;
    char *s = NULL;
    uint64_t u;
    int64_t i;

    cr_assert_eq (vs_json_parse (doc, strlen (doc), "test", &v), 0);
    cr_assert_eq (vs_json_get_str (v, "a.b[1].c", &s), 0);
    cr_assert_str_eq (s, "x");
    free (s);
    cr_assert_eq (vs_json_get_u64 (v, "a.b[0]", &u), 0);
    cr_assert_eq (u, 1);
    cr_assert_eq (vs_json_get_i64 (v, "n", &i), 0);
    cr_assert_eq (i, -3);
    cr_assert_eq (vs_json_get_u64 (v, "n", &u), -EPROTO);
    cr_assert_eq (vs_json_get_u64 (v, "f", &u), -EPROTO);
    cr_assert_eq (vs_json_get_str (v, "a.missing", &s), -ENOENT);
    cr_assert (strstr (vmshift_internal_error_msg (), "a.missing"));
    cr_assert_eq (vs_json_get_str (v, "n", &s), -EPROTO);
    vs_json_free (v);
}

Test (json, rejects_garbage_and_depth)
{
    struct json_val *v;
    char deep[200];

    cr_assert_eq (vs_json_parse ("{\"a\":1} x", 9, "t", &v), -EPROTO);
    cr_assert_eq (vs_json_parse ("{\"a\":", 5, "t", &v), -EPROTO);
    cr_assert_eq (vs_json_parse ("", 0, "t", &v), -EPROTO);
    memset (deep, '[', 100);
    memset (deep + 100, ']', 100);
    cr_assert_eq (vs_json_parse (deep, 200, "t", &v), -EPROTO);
}

Test (endian, round_trips)
{
    uint8_t b[8];

    put_le64 (b, 0x0102030405060708ULL);
    cr_assert_eq (b[0], 8);
    cr_assert_eq (get_le64 (b), 0x0102030405060708ULL);
    put_be32 (b, 0x514649fb);
    cr_assert_eq (b[0], 0x51);
    cr_assert_eq (get_be32 (b), 0x514649fbu);
    put_le16 (b, 0xabcd);
    cr_assert_eq (get_le16 (b), 0xabcd);
    put_be64 (b, 1);
    cr_assert_eq (get_be64 (b), 1);
}
