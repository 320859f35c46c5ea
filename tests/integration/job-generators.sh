#!/bin/sh
# shellcheck disable=SC2016,SC2015  # literal $ and quotes are the test data; A && B || fail
# vmshift job install|uninstall|cron|kubernetes, checked by independent
# tools: systemd-analyze verify on the units written below a scratch root
# (never the real /etc), the crontab entry run by sh against a stand-in
# vmshift that prints its arguments, and the CronJob parsed by PyYAML and
# checked against the Kubernetes batch/v1 fields pinned below.
. "$VMSHIFT_TOP/tests/lib/functions.sh"
requires systemd-analyze python3 jq
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
tmpdir
cd "$tmp" || fail "cd $tmp"
root=$tmp/root
units=$root/etc/systemd/system
mkdir -p "$root" jobs "dir with space"

cat > jobs/ontap.json <<'J'
{"name": "web-nightly", "schedule": "Mon..Fri 22:30", "timezone": "Europe/Berlin",
 "randomized_delay": "20m",
 "source": {"disks": ["ontap://prod/ds01/web01/web01.vmdk"]},
 "target": {"location": "ontap://prod/ds01/dr", "name": "{vm}/{disk}-{generation}.vhdx"},
 "retention": {"keep_last": 7}}
J
cat > "dir with space/lo%c\$al'1.json" <<'J'
{"name": "lab_local.2", "schedule": "*-*-* 03:00",
 "source": {"disks": ["/srv/vmfs/a/a.vmdk"]},
 "target": {"location": "/srv/kvm/rehearsal", "name": "{disk}-{date}T{time}.qcow2"},
 "retention": {"max_age": "2w"}}
J
local_job="$tmp/dir with space/lo%c\$al'1.json"

# ------------------------------------------------------------ systemd
verify() {   # unit files...
    systemd-analyze verify "$@" > verify.out 2>&1 ||
        fail "systemd-analyze verify failed: $(cat verify.out)"
    ! grep -q 'vmshift-job@' verify.out ||
        fail "systemd-analyze verify complains: $(cat verify.out)"
}

"$VMSHIFT" job install --root "$root" --dry-run jobs/ontap.json > dry.out 2>err ||
    fail "install --dry-run: $(cat err)"
[ -z "$(find "$root" -mindepth 1)" ] || fail "--dry-run wrote $(find "$root")"
grep -q '^OnCalendar=Mon..Fri 22:30 Europe/Berlin$' dry.out || fail "dry run shows no OnCalendar: $(cat dry.out)"

"$VMSHIFT" job install --root "$root" --metrics-dir /var/lib/node-exporter jobs/ontap.json > out 2>err ||
    fail "install: $(cat err)"
svc=$units/vmshift-job@web-nightly.service
tmr=$units/vmshift-job@web-nightly.timer
[ -f "$svc" ] && [ -f "$tmr" ] || fail "units not written: $(find "$root")"
grep -qxF "$svc" out && grep -qxF "$tmr" out || fail "install does not print the paths: $(cat out)"
verify "$svc" "$tmr"
for want in 'Persistent=true' 'RandomizedDelaySec=1200' 'OnCalendar=Mon..Fri 22:30 Europe/Berlin' \
            'WantedBy=timers.target'; do
    grep -qxF "$want" "$tmr" || fail "timer lacks '$want': $(cat "$tmr")"
done
for want in 'Type=oneshot' 'ProtectSystem=strict' 'StateDirectory=vmshift' 'NoNewPrivileges=yes' \
            'ReadWritePaths="/var/lib/node-exporter"'; do
    grep -qxF "$want" "$svc" || fail "service lacks '$want': $(cat "$svc")"
done
grep -qF "job run --metrics-dir \"/var/lib/node-exporter\" \"$tmp/jobs/ontap.json\"" "$svc" ||
    fail "ExecStart does not run the job file: $(grep ExecStart "$svc")"

# A local job writes its target folder (and nothing else is writable);
# the job file's name needs quoting ('%' doubled, '$' doubled).
"$VMSHIFT" job install --root "$root" "$local_job" > out 2>err || fail "install local: $(cat err)"
lsvc=$units/vmshift-job@lab_local.2.service
verify "$lsvc" "$units/vmshift-job@lab_local.2.timer"
grep -qxF 'ReadWritePaths="/srv/kvm/rehearsal"' "$lsvc" || fail "local job: $(grep ReadWrite "$lsvc")"
grep -qF "\"$tmp/dir with space/lo%%c\$\$al'1.json\"" "$lsvc" || fail "quoting: $(grep ExecStart "$lsvc")"
! grep -q RandomizedDelaySec "$units/vmshift-job@lab_local.2.timer" || fail "delay without randomized_delay"

# Reinstalling our own units replaces them; a unit vmshift did not write
# is never replaced or removed (exit 4).
"$VMSHIFT" job install --root "$root" jobs/ontap.json > /dev/null 2>err || fail "reinstall: $(cat err)"
printf '[Service]\nExecStart=/bin/true\n' > "$units/vmshift-job@mine.service"
sed 's/web-nightly/mine/' jobs/ontap.json > jobs/mine.json
cp "$units/vmshift-job@mine.service" mine.before
"$VMSHIFT" job install --root "$root" jobs/mine.json > out 2>err
rc=$?
[ "$rc" -eq 4 ] || fail "install over a foreign unit exited $rc: $(cat err)"
grep -q 'not written by vmshift' err || fail "message: $(cat err)"
[ ! -e "$units/vmshift-job@mine.timer" ] || fail "install over a foreign unit wrote the timer"
"$VMSHIFT" job uninstall --root "$root" mine > out 2>err
[ $? -eq 4 ] || fail "uninstall of a foreign unit: $(cat err)"
cmp -s mine.before "$units/vmshift-job@mine.service" || fail "foreign unit changed"

"$VMSHIFT" job uninstall --root "$root" web-nightly > out 2>err || fail "uninstall: $(cat err)"
[ ! -e "$svc" ] && [ ! -e "$tmr" ] || fail "uninstall left the units"
"$VMSHIFT" job uninstall --root "$root" web-nightly > out 2>err
[ $? -eq 3 ] || fail "second uninstall: $(cat err)"
"$VMSHIFT" job uninstall --root "$root" "$local_job" > out 2>err || fail "uninstall by file: $(cat err)"

# User units, verified in user mode.
mkdir -p home rt && chmod 700 rt
HOME=$tmp/home XDG_CONFIG_HOME='' XDG_RUNTIME_DIR=$tmp/rt \
    "$VMSHIFT" job install --user --root "$root" jobs/ontap.json > out 2>err || fail "install --user: $(cat err)"
usvc=$root$tmp/home/.config/systemd/user/vmshift-job@web-nightly.service
[ -f "$usvc" ] || fail "no user unit: $(cat out)"
XDG_RUNTIME_DIR=$tmp/rt systemd-analyze --user verify "$usvc" "${usvc%.service}.timer" > verify.out 2>&1 ||
    fail "user units: $(cat verify.out)"

# A bad job file: exit 3 naming the key, nothing written.
rm -rf "$root" && mkdir "$root"
sed 's/"keep_last"/"keep_lats"/' jobs/ontap.json > jobs/bad.json
"$VMSHIFT" job install --root "$root" jobs/bad.json > out 2>err
[ $? -eq 3 ] || fail "bad job file: exit $?"
grep -q "'retention.keep_lats'" err || fail "message does not name the key: $(cat err)"
[ "$(wc -l < err)" -eq 1 ] || fail "more than one line: $(cat err)"
[ -z "$(find "$root" -mindepth 1)" ] || fail "bad job file wrote $(find "$root")"

# --------------------------------------------------------------- cron
cat > fake-vmshift <<'SH'
#!/bin/sh
for a in "$@"; do printf '<%s>\n' "$a"; done
SH
chmod +x fake-vmshift
"$VMSHIFT" job cron "$local_job" > out 2>err
[ $? -eq 3 ] && grep -q "a '%' or control character" err || fail "cron accepted a '%': $(cat err)"
cron_job="$tmp/dir with space/it's \$(x) \`y\`.json"
cp "$local_job" "$cron_job"
"$VMSHIFT" job cron --vmshift "$tmp/fake-vmshift" "$cron_job" > cron.out 2>err || fail "cron: $(cat err)"
grep -qx 'CRON_TZ=UTC' cron.out || fail "no CRON_TZ: $(cat cron.out)"
entry=$(tail -n 1 cron.out)
[ "$(printf '%s' "$entry" | cut -d' ' -f1-5)" = "0 3 * * *" ] || fail "cron fields: $entry"
printf '%s' "$entry" | cut -d' ' -f6- > cmd
sh cmd > args || fail "the crontab command does not run under sh: $(cat cmd)"
printf '<job>\n<run>\n<%s>\n' "$cron_job" > want
cmp -s want args || fail "the crontab command passes other arguments: $(cat args)"

"$VMSHIFT" job cron jobs/ontap.json > cron.out 2>err || fail "cron: $(cat err)"
tail -n 1 cron.out | grep -q '^30 22 \* \* 1-5 sleep $(shuf -i 0-1200 -n 1) && exec ' ||
    fail "cron entry: $(cat cron.out)"
for s in '*-*-* 01:00:30' 'Mon *-*-01..07 01:00' '2030-*-* 01:00'; do
    jq --arg s "$s" '.schedule = $s' jobs/ontap.json > jobs/c.json
    "$VMSHIFT" job cron jobs/c.json > out 2>err
    [ $? -eq 3 ] || fail "cron accepted '$s'"
    grep -qF "schedule '$s'" err || fail "cron error does not name '$s': $(cat err)"
done

# --------------------------------------------------------- kubernetes
"$VMSHIFT" job kubernetes --namespace dr --image registry.example/vmshift:0.1.0 jobs/ontap.json \
    > cj.yaml 2>err || fail "kubernetes: $(cat err)"
python3 - cj.yaml <<'PY' || fail "CronJob manifest: see above"
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
assert len(docs) == 1, "one document"
cj = docs[0]
# Fields of Kubernetes batch/v1 (API reference, v1.28): each object may
# hold only these keys.
F = {
  "CronJob": {"apiVersion", "kind", "metadata", "spec"},
  "ObjectMeta": {"name", "namespace", "labels", "annotations"},
  "CronJobSpec": {"concurrencyPolicy", "failedJobsHistoryLimit", "jobTemplate", "schedule",
                  "startingDeadlineSeconds", "successfulJobsHistoryLimit", "suspend", "timeZone"},
  "JobTemplateSpec": {"metadata", "spec"},
  "JobSpec": {"activeDeadlineSeconds", "backoffLimit", "completions", "parallelism", "template",
              "ttlSecondsAfterFinished", "suspend", "selector", "manualSelector", "completionMode"},
  "PodTemplateSpec": {"metadata", "spec"},
  "PodSpec": {"containers", "restartPolicy", "volumes", "securityContext", "serviceAccountName",
              "nodeSelector", "tolerations", "affinity", "initContainers"},
  "Container": {"name", "image", "args", "command", "env", "volumeMounts", "securityContext",
                "resources", "imagePullPolicy", "workingDir"},
  "EnvVar": {"name", "value", "valueFrom"},
  "VolumeMount": {"name", "mountPath", "readOnly", "subPath"},
  "Volume": {"name", "secret", "persistentVolumeClaim", "configMap", "emptyDir"},
  "SecretVolumeSource": {"secretName", "defaultMode", "items", "optional"},
  "PersistentVolumeClaimVolumeSource": {"claimName", "readOnly"},
}
def only(obj, kind):
    assert isinstance(obj, dict), kind + " is not a map"
    extra = set(obj) - F[kind]
    assert not extra, "%s has fields Kubernetes does not know: %s" % (kind, extra)
only(cj, "CronJob")
assert cj["apiVersion"] == "batch/v1" and cj["kind"] == "CronJob"
only(cj["metadata"], "ObjectMeta")
name = cj["metadata"]["name"]
assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 52, name
assert cj["metadata"]["namespace"] == "dr"
label = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
for k, v in cj["metadata"]["labels"].items():
    assert len(v) <= 63 and label.fullmatch(v), (k, v)
spec = cj["spec"]
only(spec, "CronJobSpec")
assert spec["concurrencyPolicy"] == "Forbid"
assert spec["timeZone"] == "Europe/Berlin"
assert spec["schedule"] == "30 22 * * 1-5", spec["schedule"]
only(spec["jobTemplate"], "JobTemplateSpec")
js = spec["jobTemplate"]["spec"]
only(js, "JobSpec")
only(js["template"], "PodTemplateSpec")
pod = js["template"]["spec"]
only(pod, "PodSpec")
assert pod["restartPolicy"] in ("Never", "OnFailure")
vols = {}
for v in pod["volumes"]:
    only(v, "Volume")
    vols[v["name"]] = v
assert vols["config"]["secret"]["secretName"] == name
only(vols["config"]["secret"], "SecretVolumeSource")
assert vols["config"]["secret"]["defaultMode"] == 0o400
only(vols["store"]["persistentVolumeClaim"], "PersistentVolumeClaimVolumeSource")
(c,) = pod["containers"]
only(c, "Container")
assert c["image"] == "registry.example/vmshift:0.1.0"
assert c["args"] == ["--config", "/etc/vmshift/config.json", "job", "run", "/etc/vmshift/job.json"]
mounts = {}
for m in c["volumeMounts"]:
    only(m, "VolumeMount")
    assert m["name"] in vols, "mount of an unknown volume " + m["name"]
    mounts[m["mountPath"]] = m
assert mounts["/etc/vmshift"]["readOnly"] is True
env = {e["name"]: e["value"] for e in c["env"]}
for e in c["env"]:
    only(e, "EnvVar")
store = env["VMSHIFT_STORE"]
assert any(store.startswith(p + "/") and mounts[p]["name"] == "store" for p in mounts), \
    "the store is not on the store volume"
print("CronJob ok:", name)
PY
"$VMSHIFT" job kubernetes "$local_job" > out 2>err
[ $? -eq 3 ] && grep -q "'target.location'" err || fail "kubernetes accepted a local job: $(cat err)"
echo "ok: units verified, cron entry runs, CronJob fields checked"
