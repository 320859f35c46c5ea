#!/bin/sh
# ontap-sim held against NetApp's own client: modules of the netapp.ontap
# collection that Debian 12's ansible package ships (22.7.0) drive the
# simulator over HTTPS, certificate verified against the test CA
# (REQUESTS_CA_BUNDLE, validate_certs: true).  Qtree create and modify
# (idempotent on a second run), snapshot create, rename and delete, and
# na_ontap_rest_info on volumes with fields= (and a misspelt field, which
# must fail with ONTAP's error 262197).  What each module sends: docs/
# ontap-sim.md.  Skips when ansible or the collection is absent.
# shellcheck disable=SC2015 # "A && B || fail" means fail unless both hold
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/sim.sh"

requires ansible-playbook python3
python3 -c 'import requests' 2>/dev/null || skip "python3-requests is not installed"
ansible-doc -t module netapp.ontap.na_ontap_qtree >/dev/null 2>&1 ||
    skip "the netapp.ontap collection is not installed (Debian's ansible package ships it)"

tmpdir
mkdir -p "$tmp/root/vol1" "$tmp/root/vol2"
start_sim "$tmp/root" --job-duration-ms 50
port=${SIM_URL##*:}

# Everything ansible writes stays in $tmp; the password goes in a 0600
# vars file, never on a command line.
export HOME="$tmp/home" ANSIBLE_LOCAL_TEMP="$tmp/ansible-tmp" ANSIBLE_REMOTE_TEMP="$tmp/ansible-tmp"
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
export REQUESTS_CA_BUNDLE="$SIM_CA"
mkdir -p "$HOME"
(umask 077 && printf 'sim_password: "%s"\n' "$SIM_PASSWORD" > "$tmp/creds.yml")

play() {   # NAME TASKS-YAML -> runs one play; output in $tmp/NAME.out
    cat > "$tmp/$1.yml" <<YAML
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: [$tmp/creds.yml]
  module_defaults:
    group/netapp.ontap.netapp_ontap:
      hostname: 127.0.0.1
      http_port: $port
      username: admin
      password: "{{ sim_password }}"
      https: true
      validate_certs: true
      use_rest: always
  tasks:
$2
YAML
    _t0=$(date +%s)
    if ! timeout 120 ansible-playbook -i localhost, "$tmp/$1.yml" > "$tmp/$1.out" 2>&1; then
        cat "$tmp/$1.out"
        fail "$1: ansible-playbook failed"
    fi
    grep -q "$SIM_PASSWORD" "$tmp/$1.out" && fail "$1: the password is in ansible's output"
    echo "$1: ok ($(( $(date +%s) - _t0 )) s)"
}

qtree='netapp.ontap.na_ontap_qtree:
        vserver: svm0
        flexvol_name: vol1
        name: qa'
snap='netapp.ontap.na_ontap_snapshot:
        vserver: svm0
        volume: vol1'
# One play: ansible's start-up is most of the time on a loaded machine.
play netapp-modules "
    - name: create a qtree
      $qtree
        security_style: unix
        unix_permissions: '0750'
      register: r
    - assert: {that: [r.changed]}
    - name: the same again changes nothing
      $qtree
        security_style: unix
        unix_permissions: '0750'
      register: r
    - assert: {that: ['not r.changed'], fail_msg: 'not idempotent: {{ r | to_json }}'}
    - name: modify style and permissions (PATCH)
      $qtree
        security_style: ntfs
        unix_permissions: '0755'
      register: r
    - assert: {that: [r.changed]}
    - name: create a snapshot
      $snap
        snapshot: s1
      register: r
    - assert: {that: [r.changed]}
    - name: rename it (PATCH)
      $snap
        from_name: s1
        snapshot: s2
      register: r
    - assert: {that: [r.changed]}
    - name: delete it under its new name
      $snap
        snapshot: s2
        state: absent
      register: r
    - assert: {that: [r.changed], fail_msg: 'no snapshot s2 to delete: {{ r | to_json }}'}
    - name: volumes with fields
      netapp.ontap.na_ontap_rest_info:
        gather_subset: [storage/volumes]
        fields: [name, space.used, nas.path, svm.name]
        parameters: {name: vol1|vol2}
      register: r
    - assert:
        that:
          - r.ontap_info['storage/volumes'].num_records == 2
          - r.ontap_info['storage/volumes'].records[0].space.used is defined
          - r.ontap_info['storage/volumes'].records[0].nas.path == '/vol1'
        fail_msg: '{{ r.ontap_info | to_json }}'
    - name: a misspelt field fails as on ONTAP
      netapp.ontap.na_ontap_rest_info:
        gather_subset: [storage/volumes]
        fields: [name, space.usedd]
      register: r
      ignore_errors: true
    - assert:
        that: [r.failed, \"'262197' in (r.msg | string)\", \"'space.usedd' in (r.msg | string)\"]
        fail_msg: '{{ r | to_json }}'"
[ -d "$tmp/root/vol1/qa" ] || fail "qtree directory not made"
[ "$(stat -c %a "$tmp/root/vol1/qa")" = 755 ] || fail "mode $(stat -c %a "$tmp/root/vol1/qa")"
api GET '/api/storage/qtrees?volume=vol1&name=qa&fields=security_style'
[ "$(jqo '.records[0].security_style')" = ntfs ] || fail "qtree style: $(cat "$out")"
[ -z "$(ls -A "$tmp/root/vol1/.snapshot")" ] || fail "snapshots left: $(ls -a "$tmp/root/vol1/.snapshot")"
grep -q '"method":"PATCH","path":"/api/storage/qtrees/' "$SIM_LOG" || fail "no qtree PATCH in the log"
grep -q '"method":"PATCH","path":"/api/storage/volumes/[^"]*/snapshots/' "$SIM_LOG" ||
    fail "no snapshot PATCH in the log"

# The requests came from NetApp's client (its X-Dot-Client-App header).
grep -q '"client_app":"netapp.ontap.na_ontap_' "$SIM_LOG" ||
    fail "no request with the collection's X-Dot-Client-App in the log"
stop_sim_checked
echo ok
