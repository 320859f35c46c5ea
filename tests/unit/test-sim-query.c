/* ontap-sim's query filter operators and fields= names
 * (tools/ontap-sim/filter.c and fields.c, built in here: the simulator
 * is not part of libvmshift).  The rules: docs/ontap-sim.md. */
#include <criterion/criterion.h>
#include <string.h>

#include "tools/ontap-sim/fields.c"
#include "tools/ontap-sim/filter.c"

static bool
known (const char *res, const char *name)
{
    return sim_field_known (res, name, strlen (name));
}

Test (sim_filter, exact_wildcard_or_not)
{
    cr_assert (sim_filter_value ("vol1", "vol1"));
    cr_assert (!sim_filter_value ("vol10", "vol1"));
    cr_assert (sim_filter_value ("vol10", "vol1*"));
    cr_assert (sim_filter_value ("avol1b", "*vol1*"));
    cr_assert (sim_filter_value ("a", "*"));
    cr_assert (sim_filter_value ("", "*"));
    cr_assert (!sim_filter_value ("vol2", "vol1*"));
    cr_assert (sim_filter_value ("vol2", "vol1|vol2"));
    cr_assert (sim_filter_value ("vol2", "!vol1"));
    cr_assert (!sim_filter_value ("vol1", "!vol1"));
    cr_assert (sim_filter_value ("vol1", "!!vol1"));
    cr_assert (!sim_filter_value ("vol12", "!vol1*"));
    cr_assert (sim_filter_value ("a?b", "a?b"), "? is not a wildcard");
    cr_assert (!sim_filter_value ("axb", "a?b"));
    cr_assert (!sim_filter_value ("axb", "a[x]b"), "no character classes");
}

Test (sim_filter, quoted_values_are_literal)
{
    cr_assert (sim_filter_value ("qt1", "\"qt1\""));
    cr_assert (!sim_filter_value ("qt10", "\"qt1*\""));
    cr_assert (sim_filter_value ("qt1*", "\"qt1*\""));
    cr_assert (sim_filter_value ("a|b", "\"a|b\""), "| inside quotes");
    cr_assert (!sim_filter_value ("a", "\"a|b\""));
    cr_assert (sim_filter_value ("<x", "\"<x\""));
    cr_assert (sim_filter_value ("1..2", "\"1..2\""));
}

Test (sim_filter, comparisons_and_ranges)
{
    cr_assert (sim_filter_value ("10", ">9"), "numbers compare as numbers");
    cr_assert (!sim_filter_value ("10", "<9"));
    cr_assert (sim_filter_value ("9", "<=9"));
    cr_assert (sim_filter_value ("9", ">=9"));
    cr_assert (!sim_filter_value ("9", ">9"));
    cr_assert (sim_filter_value ("b", ">a"), "text compares as text");
    cr_assert (sim_filter_value ("5", "1..10"));
    cr_assert (sim_filter_value ("10", "1..10"));
    cr_assert (!sim_filter_value ("11", "1..10"));
    cr_assert (sim_filter_value ("2021-06-10T17:24:41-04:00",
                                 "2021-01-01..2022-01-01"));
    cr_assert (sim_filter_value ("0", "<1|>5"));
    cr_assert (!sim_filter_value ("3", "<1|>5"));
}

Test (sim_fields, ontap_names_per_resource)
{
    cr_assert (known ("volume", "space.used"));
    cr_assert (known ("volume", "space"));
    cr_assert (known ("volume", "space.snapshot"));
    cr_assert (known ("volume", "statistics.iops_raw.read"));
    cr_assert (known ("volume", "_links.self.href"));
    cr_assert (known ("qtree", "volume"));
    cr_assert (known ("qtree", "user.name"));
    cr_assert (!known ("volume", "bogus"));
    cr_assert (!known ("volume", "spac"));
    cr_assert (!known ("volume", "space.bogus"));
    cr_assert (!known ("volume", "space.used.x"));
    cr_assert (!known ("volume", "granular_data_mode"), "9.16, not 9.15.1");
    cr_assert (!known ("qtree", "ext_performance_monitoring"), "9.16");
    cr_assert (!known ("snapshot", "dedup_savings"), "9.17");
    cr_assert (!known ("qtree", "uuid"));
    cr_assert (!known ("job", "status"));
}

Test (sim_fields, validate_lists)
{
    const char *bad = NULL;
    size_t n = 0;

    cr_assert_eq (sim_fields_validate ("volume", "*", &bad, &n), 0);
    cr_assert_eq (sim_fields_validate ("volume", "**", &bad, &n), 0);
    cr_assert_eq (sim_fields_validate ("volume", "name,style,", &bad, &n), 0);
    cr_assert_eq (sim_fields_validate ("volume", ",,name", &bad, &n), 0);
    cr_assert_eq (sim_fields_validate ("volume", "*,space,nas.path", &bad, &n), 0);
    cr_assert_eq (sim_fields_validate ("volume", "name,sapce,uuid", &bad, &n), -1);
    cr_assert_eq (n, 5);
    cr_assert (strncmp (bad, "sapce", 5) == 0);
    cr_assert_eq (sim_fields_validate ("volume", "***", &bad, &n), -1);
}
