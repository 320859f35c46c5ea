/* ontap-sim's sub-file clone range rules (tools/ontap-sim/ranges.c, built
 * in here: the simulator is not part of libvmshift). */
#include <criterion/criterion.h>
#include <string.h>

#include "tools/ontap-sim/ranges.c"

Test (sim_range, parses_three_unsigned_numbers)
{
    struct sim_range r;

    cr_assert_eq (sim_range_parse ("0:1024:256", &r), 0);
    cr_assert_eq (r.src, 0);
    cr_assert_eq (r.dst, 1024);
    cr_assert_eq (r.count, 256);
    cr_assert_eq (sim_range_parse ("2251799813685246:0:1", &r), 0,
                  "the last block below 2^63 bytes");
}

Test (sim_range, refuses_anything_else_with_a_message)
{
    static const char *const bad[] = {
        "", "1", "1:2", "1:2:3:4", "a:b:c", "1:2:0", "-1:2:3", "+1:2:3",
        " 1:2:3", "1 :2:3", "1:2:3 ", "1::3", "1:2:", "0x1:2:3",
        "18446744073709551616:0:1", "2251799813685247:0:1", "0:2251799813685246:2",
    };
    struct sim_range r;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clear_error ();
        cr_assert_eq (sim_range_parse (bad[i], &r), -EINVAL, "accepted '%s'", bad[i]);
        cr_assert_neq (vmshift_internal_error_msg ()[0], '\0');
    }
}

Test (sim_range, overlap_rules)
{
    struct sim_range ok[] = { { 0, 100, 10 }, { 10, 200, 10 } };
    struct sim_range src_ov[] = { { 0, 100, 10 }, { 9, 200, 10 } };
    struct sim_range dst_ov[] = { { 0, 100, 10 }, { 50, 105, 10 } };
    struct sim_range cross[] = { { 0, 5, 10 } };
    struct sim_range far[] = { { 0, 10, 10 } };

    cr_assert_eq (sim_ranges_check (ok, 2, false), 0);
    cr_assert_eq (sim_ranges_check (ok, 2, true), 0);
    cr_assert_eq (sim_ranges_check (src_ov, 2, false), -EINVAL);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "source ranges"));
    cr_assert_eq (sim_ranges_check (dst_ov, 2, false), -EINVAL);
    cr_assert_not_null (strstr (vmshift_internal_error_msg (), "destination ranges"));
    cr_assert_eq (sim_ranges_check (cross, 1, false), 0, "different files");
    cr_assert_eq (sim_ranges_check (cross, 1, true), -EINVAL, "same file");
    cr_assert_eq (sim_ranges_check (far, 1, true), 0, "adjacent, not overlapping");
    cr_assert_eq (sim_ranges_check (NULL, 0, true), 0);
}
