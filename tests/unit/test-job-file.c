/* engine/jobs: the job file parser, name patterns, durations, and the
 * calendar subset (parse, next elapse, crontab fields). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "engine/jobs/job.h"

#define GOOD_HEAD "{\"name\": \"web-nightly\", \"schedule\": \"*-*-* 01:00:00\", "
#define GOOD_SRC "\"source\": {\"disks\": [\"ontap://prod/ds01/web01/web01.vmdk\"]," \
                 " \"vms\": [\"ontap://prod/ds01/db01/db01.vmx\"]}, "
#define GOOD_TGT "\"target\": {\"location\": \"ontap://prod/ds01/dr\", " \
                 "\"name\": \"{vm}/{disk}-{date}.vhdx\", \"format\": \"vhdx\"}, "
#define GOOD_RET "\"retention\": {\"keep_last\": 7, \"max_age\": \"30d\"}"

static struct job_def *
parse_ok (const char *text)
{
    struct job_def *j = NULL;
    int r = job_parse (text, strlen (text), "'t.json'", &j);

    cr_assert_eq (r, 0, "job_parse failed: %s", vmshift_internal_error_msg ());
    return j;
}

Test (job_file, issue_example_parses_with_every_field)
{
    struct job_def *j = parse_ok (GOOD_HEAD "\"timezone\": \"Europe/Berlin\", "
                                  GOOD_SRC GOOD_TGT GOOD_RET
                                  ", \"keep_snapshot\": false, "
                                  "\"concurrency\": 12, "
                                  "\"randomized_delay\": \"15m\", "
                                  "\"lease_ttl\": \"2m\"}");

    cr_assert_str_eq (j->name, "web-nightly");
    cr_assert_str_eq (j->timezone, "Europe/Berlin");
    cr_assert_eq (j->n_disks, 1);
    cr_assert_eq (j->n_vms, 1);
    cr_assert (j->on_ontap);
    cr_assert_eq (j->format, VMSHIFT_FMT_VHDX);
    cr_assert_eq (j->retention.keep_last, 7);
    cr_assert_eq (j->retention.max_age, 30 * 86400);
    cr_assert_eq (j->concurrency, 12);
    cr_assert_eq (j->randomized_delay, 900);
    cr_assert_eq (j->lease_ttl, 120);
    cr_assert (!j->keep_snapshot);
    cr_assert (!j->keep_partial);
    job_free (j);
}

Test (job_file, defaults_and_format_from_extension)
{
    struct job_def *j = parse_ok (
        "{\"name\": \"n\", \"schedule\": \"daily\", "
        "\"source\": {\"disks\": [\"ontap://p/v/a/a.vmdk\"]}, "
        "\"target\": {\"location\": \"ontap://p/v/dr\", "
        "\"name\": \"{disk}-{generation}.qcow2\"}, "
        "\"retention\": {\"keep_last\": 3}, \"keep_snapshot\": true}");

    cr_assert_str_eq (j->timezone, "UTC");
    cr_assert_eq (j->concurrency, 10);
    cr_assert_eq (j->lease_ttl, JOB_LEASE_TTL_DEFAULT);
    cr_assert (j->on_ontap);
    cr_assert_eq (j->format, VMSHIFT_FMT_QCOW2);
    /* kept snapshots follow the files' retention unless told otherwise */
    cr_assert_eq (j->snapshot_retention.keep_last, 3);
    job_free (j);
}

/* Each bad file: the key the one-line message must name. */
static const struct {
    const char *text, *key;
} bad_files[] = {
    { "[1]", "not a JSON object" },
    { "{\"name\": ", "malformed JSON" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT GOOD_RET ", \"colour\": 1}", "'colour'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT
      "\"retention\": {\"keep_last\": 7, \"keepLast\": 2}}",
      "'retention.keepLast'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"keep_last\": -1}}",
      "'retention.keep_last'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"keep_last\": 1.5}}",
      "'retention.keep_last'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"keep_last\": \"7\"}}",
      "'retention.keep_last'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"max_age\": \"30 days\"}}",
      "'retention.max_age'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {}}", "'retention'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"x\": 1}", "'x'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": 7}", "'retention'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"keep_last\": 1}, "
      "\"retention\": {\"keep_last\": 2}}", "'retention' appears twice" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT "\"retention\": {\"keep_last\": 1}}", NULL },
    { "{\"schedule\": \"daily\", " GOOD_SRC GOOD_TGT GOOD_RET "}", "'name'" },
    { "{\"name\": \"a b\", \"schedule\": \"daily\", " GOOD_SRC GOOD_TGT
      GOOD_RET "}", "'name'" },
    { "{\"name\": \"../x\", \"schedule\": \"daily\", " GOOD_SRC GOOD_TGT
      GOOD_RET "}", "'name'" },
    { "{\"name\": \"n\", " GOOD_SRC GOOD_TGT GOOD_RET "}", "'schedule'" },
    { "{\"name\": \"n\", \"schedule\": \"25:00\", " GOOD_SRC GOOD_TGT
      GOOD_RET "}", "'schedule'" },
    { "{\"name\": \"n\", \"schedule\": \"1970-01-01\", " GOOD_SRC GOOD_TGT
      GOOD_RET "}", "'schedule': never" },
    { "{\"name\": \"n\", \"schedule\": \"daily\", \"timezone\": \"../etc\", "
      GOOD_SRC GOOD_TGT GOOD_RET "}", "'timezone'" },
    { GOOD_HEAD "\"randomized_delay\": \"5x\", " GOOD_SRC GOOD_TGT GOOD_RET
      "}", "'randomized_delay'" },
    { GOOD_HEAD "\"lease_ttl\": \"3s\", " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'lease_ttl': must be from 4s to 1d" },
    { GOOD_HEAD "\"lease_ttl\": \"2d\", " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'lease_ttl'" },
    { GOOD_HEAD "\"lease_ttl\": 60, " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'lease_ttl'" },
    { GOOD_HEAD "\"concurrency\": 0, " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'concurrency'" },
    { GOOD_HEAD "\"concurrency\": 65, " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'concurrency'" },
    { GOOD_HEAD "\"keep_partial\": \"no\", " GOOD_SRC GOOD_TGT GOOD_RET "}",
      "'keep_partial'" },
    { GOOD_HEAD GOOD_TGT GOOD_RET "}", "'source'" },
    { GOOD_HEAD "\"source\": {}, " GOOD_TGT GOOD_RET "}", "'source'" },
    { GOOD_HEAD "\"source\": {\"disk\": []}, " GOOD_TGT GOOD_RET "}",
      "'source.disk'" },
    { GOOD_HEAD "\"source\": {\"disks\": \"x.vmdk\"}, " GOOD_TGT GOOD_RET "}",
      "'source.disks'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"ontap://prod/ds01/a.vhdx\"]}, "
      GOOD_TGT GOOD_RET "}", "'source.disks[0]'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"ontap://prod/ds01/a.vmdk\", "
      "\"ontap://prod/ds01/a.vmdk\"]}, " GOOD_TGT GOOD_RET "}",
      "'source.disks[1]'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"ontap://prod/ds02/a.vmdk\"]}, "
      GOOD_TGT GOOD_RET "}", "'source.disks[0]'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"/srv/a.vmdk\"]}, " GOOD_TGT
      GOOD_RET "}", "'source.disks[0]'" },
    { GOOD_HEAD "\"source\": {\"vms\": [\"ontap://prod/ds01/a.vmdk\"]}, "
      GOOD_TGT GOOD_RET "}", "'source.vms[0]'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"rel/a.vmdk\"]}, "
      "\"target\": {\"location\": \"/srv/dr\", \"name\": "
      "\"{disk}-{date}.vhdx\"}, " GOOD_RET "}", "'source.disks[0]'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"/srv/../a.vmdk\"]}, "
      "\"target\": {\"location\": \"/srv/dr\", \"name\": "
      "\"{disk}-{date}.vhdx\"}, " GOOD_RET "}", "'source.disks[0]'" },
    { GOOD_HEAD GOOD_SRC GOOD_RET "}", "'target'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"name\": \"{disk}-{date}.vhdx\"}, "
      GOOD_RET "}", "'target.location'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"nfs://h/e\", "
      "\"name\": \"{disk}-{date}.vhdx\"}, " GOOD_RET "}", "'target.location'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\""
      "}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{vm}-{date}.vhdx\"}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{disk}.vhdx\"}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{disk}-{Date}.vhdx\"}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"../{disk}-{date}.vhdx\"}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"/{disk}-{date}.vhdx\"}, " GOOD_RET "}", "'target.name'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{disk}-{date}\"}, " GOOD_RET "}", "'target.format'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{disk}-{date}.vhdx\", \"format\": \"qcow2\"}, " GOOD_RET
      "}", "'target.format'" },
    { GOOD_HEAD GOOD_SRC "\"target\": {\"location\": \"ontap://prod/ds01/dr\","
      " \"name\": \"{disk}-{date}.x\", \"format\": \"vhd9\"}, " GOOD_RET "}",
      "'target.format'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT GOOD_RET ", \"snapshot_retention\": "
      "{\"keep_last\": 2}}", "'snapshot_retention'" },
    { GOOD_HEAD "\"source\": {\"disks\": [\"/srv/a/a.vmdk\"]}, "
      "\"target\": {\"location\": \"/srv/dr\", \"name\": "
      "\"{disk}-{date}.vhdx\"}, " GOOD_RET ", \"keep_snapshot\": true}",
      "'keep_snapshot'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT GOOD_RET ", \"store\": \"rel.db\"}",
      "'store'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT GOOD_RET ", \"config\": 5}", "'config'" },
    { GOOD_HEAD GOOD_SRC GOOD_TGT GOOD_RET ", \"name\": \"again\"}",
      "'name' appears twice" },
};

Test (job_file, every_bad_file_names_its_key)
{
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        struct job_def *j = NULL;
        const char *t = bad_files[i].text;
        int r = job_parse (t, strlen (t), "'t.json'", &j);

        if (bad_files[i].key == NULL) {
            cr_assert_eq (r, 0, "case %zu: %s", i,
                          vmshift_internal_error_msg ());
            job_free (j);
            continue;
        }
        cr_assert_eq (r, -EINVAL, "case %zu accepted: %s", i, t);
        cr_assert_null (j);
        cr_assert (strstr (vmshift_internal_error_msg (), "'t.json'"),
                   "case %zu: no file name in '%s'", i,
                   vmshift_internal_error_msg ());
        cr_assert (strstr (vmshift_internal_error_msg (), bad_files[i].key),
                   "case %zu: '%s' does not name %s", i,
                   vmshift_internal_error_msg (), bad_files[i].key);
        cr_assert_null (strchr (vmshift_internal_error_msg (), '\n'));
    }
}

Test (job_file, name_pattern_expands_in_utc)
{
    struct job_name_vars v = { .vm = "web01", .disk = "web01_1",
                               .when = 1700000000, .generation = 42 };
    char *s = NULL;

    cr_assert_eq (job_name_expand ("{vm}/{disk}-{date}T{time}-g{generation}"
                                   ".vhdx", &v, &s), 0);
    cr_assert_str_eq (s, "web01/web01_1-2023-11-14T221320-g42.vhdx");
    free (s);
}

Test (job_file, durations)
{
    uint64_t v = 0;

    cr_assert_eq (job_duration_parse ("30d", &v), 0);
    cr_assert_eq (v, 30 * 86400);
    cr_assert_eq (job_duration_parse ("2w", &v), 0);
    cr_assert_eq (v, 14 * 86400);
    cr_assert_eq (job_duration_parse ("45s", &v), 0);
    cr_assert_eq (v, 45);
    cr_assert_lt (job_duration_parse ("30", &v), 0);
    cr_assert_lt (job_duration_parse ("d", &v), 0);
    cr_assert_lt (job_duration_parse ("1dd", &v), 0);
    cr_assert_lt (job_duration_parse ("-1d", &v), 0);
    cr_assert_lt (job_duration_parse ("99999999999999999999s", &v), 0);
    cr_assert_lt (job_duration_parse ("101000w", &v), 0);
}

/* ------------------------------------------------------------ calendar */

static int64_t
next_after (const char *expr, int64_t t)
{
    struct job_cal c;
    int64_t n = 0;

    cr_assert_eq (job_calendar_parse (expr, &c), 0, "%s: %s", expr,
                  vmshift_internal_error_msg ());
    cr_assert_eq (job_calendar_next_utc (&c, t, &n), 0, "%s", expr);
    return n;
}

/* Expected values from systemd-analyze calendar --base-time=@1700000000
 * (systemd 252); tests/oracle/job-calendar.sh compares many more. */
Test (job_calendar, next_elapse_matches_systemd)
{
    cr_assert_eq (next_after ("*-*-* 01:00:00", 1700000000), 1700010000);
    cr_assert_eq (next_after ("Mon..Fri 22:30", 1700000000), 1700001000);
    cr_assert_eq (next_after ("*:0/15", 1700000000), 1700000100);
    cr_assert_eq (next_after ("weekly", 1700000000), 1700438400);
    cr_assert_eq (next_after ("quarterly", 1700000000), 1704067200);
    cr_assert_eq (next_after ("Sat,Sun *-*-01..07 01:00", 1700000000),
                  1701478800);
}

Test (job_calendar, rejects_what_the_subset_leaves_out)
{
    static const char *const bad[] = {
        "", "Mon 01:00 UTC", "*-*-~3", "25:00", "Fooday", "*-*-* 1:2:3.5",
        "*-13-01", "*-*-32", "1969-01-01", "*:*:60", "*/0:00", "Fri..Mon",
        "1,,2:00", "a-b-c", "@1700000000", "*-*-* 01:00 Mon",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct job_cal c;

        cr_assert_eq (job_calendar_parse (bad[i], &c), -EINVAL,
                      "accepted '%s'", bad[i]);
    }
}

static const char *
cron_of (const char *expr, char *buf, size_t n)
{
    struct job_cal c;

    cr_assert_eq (job_calendar_parse (expr, &c), 0);
    if (job_calendar_cron (&c, expr, buf, n) < 0) {
        return NULL;
    }
    return buf;
}

Test (job_calendar, crontab_fields)
{
    char b[256];

    cr_assert_str_eq (cron_of ("*-*-* 01:00:00", b, sizeof b), "0 1 * * *");
    cr_assert_str_eq (cron_of ("Mon..Fri 22:30", b, sizeof b),
                      "30 22 * * 1-5");
    cr_assert_str_eq (cron_of ("Sun,Sat 03:15", b, sizeof b),
                      "15 3 * * 0,6");
    cr_assert_str_eq (cron_of ("*:0/15", b, sizeof b), "0,15,30,45 * * * *");
    cr_assert_str_eq (cron_of ("monthly", b, sizeof b), "0 0 1 * *");
    cr_assert_str_eq (cron_of ("quarterly", b, sizeof b),
                      "0 0 1 1,4,7,10 *");
    cr_assert_null (cron_of ("*-*-* 01:00:30", b, sizeof b));
    cr_assert (strstr (vmshift_internal_error_msg (), "'*-*-* 01:00:30'"));
    cr_assert_null (cron_of ("2030-*-* 01:00", b, sizeof b));
    cr_assert_null (cron_of ("Mon *-*-01..07 01:00", b, sizeof b));
    cr_assert_str_eq (cron_of ("minutely", b, sizeof b), "* * * * *");
}
