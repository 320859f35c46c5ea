/* hypervisors/guest-map.c and guest-check.c: the network map's guest
 * part and the validators every value passes before it reaches a
 * script. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "hypervisors/guest.h"

static struct hv_guest_map *
parse_ok (const char *json)
{
    struct hv_guest_map *m = NULL;
    int r = hv_guest_map_parse (json, strlen (json), "'map.json'", &m);

    cr_assert_eq (r, 0, "parse failed: %s", vmshift_internal_error_msg ());
    return m;
}

Test (guest_map, full_map_is_parsed_and_normalised)
{
    const char *j =
        "{\"networks\": {\"VM Network\": {\"target\": \"br0\", \"vlan\": 10}},"
        " \"retain_mac\": true, \"other_tool\": {\"x\": 1},"
        " \"guest\": {\"mode\": \"dhcp\", \"remove_vmware_tools\": false,"
        "  \"reboot\": \"never\", \"hook\": \"systemd\","
        "  \"nics\": [{\"mac\": \"00-50-56-AA-BB-CC\", \"name\": \"ens192\","
        "   \"addresses\": [\"192.0.2.10/24\", \"2001:DB8::0010/64\"],"
        "   \"gateway4\": \"192.0.2.1\","
        "   \"dns\": [\"192.0.2.53\", \"2001:db8:0::53\"],"
        "   \"search\": [\"example.com\", \"corp.example.\"], \"mtu\": 9000,"
        "   \"routes\": [{\"to\": \"10.9.0.0/16\", \"via\": \"192.0.2.254\","
        "               \"metric\": 50},"
        "              {\"to\": \"default\", \"via\": \"2001:db8::1\"},"
        "              {\"to\": \"198.51.100.0/24\"}]},"
        "  {\"name\": \"Ethernet 2\", \"dhcp\": true}]}}";
    struct hv_guest_map *m = parse_ok (j);
    const struct hv_guest_nic *n = &m->nics[0];

    cr_assert_eq (m->retain_mac, 1);
    cr_assert_eq (m->mode, HV_GUEST_MODE_DHCP);
    cr_assert_eq (m->remove_tools, 0);
    cr_assert_eq (m->reboot, HV_GUEST_REBOOT_NEVER);
    cr_assert_str_eq (m->hook, "systemd");
    cr_assert_eq (m->nnetworks, 1);
    cr_assert_eq (m->nnics, 2);
    cr_assert_str_eq (n->mac, "00:50:56:aa:bb:cc");
    cr_assert_str_eq (n->name, "ens192");
    cr_assert_eq (n->naddrs, 2);
    cr_assert_str_eq (n->addrs[1], "2001:db8::10/64");
    cr_assert_str_eq (n->gw4, "192.0.2.1");
    cr_assert_str_eq (n->gw6, "2001:db8::1",
                      "a default route becomes gateway6");
    cr_assert_eq (n->ndns, 2);
    cr_assert_str_eq (n->dns[1], "2001:db8::53");
    cr_assert_str_eq (n->search[1], "corp.example.");
    cr_assert_eq (n->mtu, 9000);
    cr_assert_eq (n->nroutes, 2);
    cr_assert_str_eq (n->routes[0].to, "10.9.0.0/16");
    cr_assert_eq (n->routes[0].metric, 50);
    cr_assert_str_eq (n->routes[1].via, "");
    cr_assert_eq (n->routes[1].metric, -1);
    cr_assert_eq (n->dhcp, -1);
    cr_assert_eq (m->nics[1].dhcp, 1);
    cr_assert_str_eq (m->nics[1].name, "Ethernet 2");
    hv_guest_map_free (m);
}

Test (guest_map, empty_and_shared_maps)
{
    struct hv_guest_map *m = parse_ok ("{}");

    cr_assert_eq (m->nnics, 0);
    cr_assert_eq (m->retain_mac, -1);
    cr_assert_eq (m->remove_tools, -1);
    cr_assert_eq (m->mode, HV_GUEST_MODE_UNSET);
    hv_guest_map_free (m);
    /* The shape 'vmshift define --network-map' reads. */
    m = parse_ok ("{\"networks\": {\"VM Network\": {\"target\": \"br0\", "
                  "\"vlan\": 10}}, \"retain_mac\": true}");
    cr_assert_eq (m->retain_mac, 1);
    cr_assert_eq (m->nnics, 0);
    hv_guest_map_free (m);
    m = parse_ok ("{\"guest\": {\"nics\": []}}");
    cr_assert_eq (m->nnics, 0);
    hv_guest_map_free (m);
}

struct bad_case {
    const char *json;
    int err;
    const char *msg;            /* substring of the error message */
};

#define NIC(x) "{\"guest\": {\"nics\": [" x "]}}"

static const struct bad_case bad_cases[] = {
    { "not json", EPROTO, "'map.json': malformed JSON" },
    { "[1, 2]", EINVAL, "a network map is a JSON object" },
    { "{\"guest\": []}", EINVAL, "guest: expected an object" },
    { "{\"guest\": {\"modes\": \"dhcp\"}}", EINVAL, "unknown key 'modes'" },
    { "{\"guest\": {\"mode\": \"bogus\"}}", EINVAL,
      "unknown guest network mode 'bogus'" },
    { "{\"guest\": {\"mode\": 1}}", EINVAL, "guest.mode: expected a string" },
    { "{\"guest\": {\"reboot\": \"sometimes\"}}", EINVAL,
      "unknown reboot policy" },
    { "{\"guest\": {\"hook\": \"init.d\"}}", EINVAL,
      "unknown boot hook 'init.d'" },
    { "{\"guest\": {\"remove_vmware_tools\": \"yes\"}}", EINVAL,
      "expected true or false" },
    { "{\"retain_mac\": \"yes\"}", EINVAL,
      "retain_mac: expected true or false" },
    { "{\"networks\": []}", EINVAL, "networks: expected an object" },
    { "{\"networks\": {\"a\": 1}}", EINVAL,
      "networks['a']: expected an object" },
    { "{\"guest\": {\"nics\": {}}}", EINVAL, "guest.nics: expected an array" },
    { NIC ("{}"), EINVAL, "guest.nics[0]: needs 'mac' or 'name'" },
    { NIC ("{\"mac\": \"00:50:56:aa:bb\"}"), EINVAL, "is not a MAC address" },
    { NIC ("{\"mac\": \"00:50:56:aa:bb:cc;reboot\"}"), EINVAL,
      "is not a MAC address" },
    { NIC ("{\"mac\": \"00:50-56:aa:bb:cc\"}"), EINVAL,
      "is not a MAC address" },
    { NIC ("{\"name\": \"eth0'; reboot; '\"}"), EINVAL,
      "is not an interface name" },
    { NIC ("{\"name\": \"$(reboot)\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \"a`id`\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \"eth0\\nreboot\"}"), EINVAL,
      "is not an interface name" },
    { NIC ("{\"name\": \"eth0\\\"\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \" eth0\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \"\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \"\\u2019x\"}"), EINVAL, "is not an interface name" },
    { NIC ("{\"name\": \"x\", \"speed\": 10}"), EINVAL,
      "guest.nics[0]: unknown key 'speed'" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.300/24\"]}"), EINVAL,
      "guest.nics[0].addresses[0]: '192.0.2.300/24' is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1\"]}"), EINVAL,
      "is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1/33\"]}"), EINVAL,
      "is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"::1/129\"]}"), EINVAL,
      "is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1/24; reboot\"]}"),
      EINVAL, "is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1/+4\"]}"), EINVAL,
      "is not an address/prefix" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1/0\"]}"), EINVAL,
      "has prefix length 0" },
    { NIC ("{\"name\": \"x\", \"addresses\": [\"192.0.2.1/24\", "
           "\"192.0.2.1/24\"]}"), EINVAL, "listed twice" },
    { NIC ("{\"name\": \"x\", \"addresses\": [1]}"), EINVAL,
      "addresses[0]: expected a string" },
    { NIC ("{\"name\": \"x\", \"gateway4\": \"2001:db8::1\"}"), EINVAL,
      "is not an IPv4 address" },
    { NIC ("{\"name\": \"x\", \"gateway6\": \"192.0.2.1\"}"), EINVAL,
      "is not an IPv6 address" },
    { NIC ("{\"name\": \"x\", \"dns\": [\"8.8.8.8 8.8.4.4\"]}"), EINVAL,
      "is not an IP address" },
    { NIC ("{\"name\": \"x\", \"search\": [\"exa mple.com\"]}"), EINVAL,
      "is not a DNS domain name" },
    { NIC ("{\"name\": \"x\", \"search\": [\"$(id).com\"]}"), EINVAL,
      "is not a DNS domain name" },
    { NIC ("{\"name\": \"x\", \"search\": [\"-bad.com\"]}"), EINVAL,
      "is not a DNS domain name" },
    { NIC ("{\"name\": \"x\", \"search\": [\"a..b\"]}"), EINVAL,
      "is not a DNS domain name" },
    { NIC ("{\"name\": \"x\", \"search\": [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\"]}"),
      EINVAL, "is not a DNS domain name" },
    { NIC ("{\"name\": \"x\", \"mtu\": 67}"), EINVAL,
      "expected an MTU of 68-65535" },
    { NIC ("{\"name\": \"x\", \"mtu\": 70000}"), EINVAL, "expected an MTU" },
    { NIC ("{\"name\": \"x\", \"mtu\": \"9000\"}"), EINVAL, "expected an MTU" },
    { NIC ("{\"name\": \"x\", \"mtu\": 1500.5}"), EINVAL, "expected an MTU" },
    { NIC ("{\"name\": \"x\", \"mtu\": 1000, "
           "\"addresses\": [\"2001:db8::1/64\"]}"), EINVAL,
      "IPv6 needs an MTU of at least 1280" },
    { NIC ("{\"name\": \"x\", \"dhcp\": true, "
           "\"addresses\": [\"192.0.2.1/24\"]}"), EINVAL,
      "'dhcp': true conflicts" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"to\": \"10.0.0.1/8\"}]}"), EINVAL,
      "has host bits set (the network is 10.0.0.0/8)" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"via\": \"10.0.0.1\"}]}"), EINVAL,
      "routes[0].to: missing" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"to\": \"10.0.0.0/8\", "
           "\"via\": \"2001:db8::1\"}]}"),
      EINVAL, "is not an IPv4 address" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"to\": \"10.0.0.0/8\", "
           "\"metric\": -1}]}"), EINVAL,
      "expected an integer" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"to\": \"default\"}]}"), EINVAL,
      "a default route needs 'via'" },
    { NIC ("{\"name\": \"x\", \"gateway4\": \"192.0.2.1\", "
           "\"routes\": [{\"to\": \"default\", \"via\": \"192.0.2.2\"}]}"),
      EINVAL, "two different IPv4 default gateways" },
    { NIC ("{\"name\": \"x\", \"routes\": [{\"to\": \"10.0.0.0/8\", "
           "\"dev\": \"eth0\"}]}"), EINVAL,
      "unknown key 'dev'" },
    { NIC ("{\"mac\": \"00:50:56:aa:bb:cc\"}, "
           "{\"mac\": \"00-50-56-AA-BB-CC\"}"), EINVAL,
      "guest.nics[0] and guest.nics[1] have the same MAC" },
    { NIC ("{\"name\": \"eth0\"}, "
           "{\"mac\": \"00:50:56:aa:bb:cc\", \"name\": \"eth0\"}"), EINVAL,
      "have the same name 'eth0'" },
};

Test (guest_map, bad_input_is_refused_with_a_clear_message)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct hv_guest_map *m = NULL;
        int r = hv_guest_map_parse (c->json, strlen (c->json), "'map.json'",
                                    &m);
        const char *msg = vmshift_internal_error_msg ();

        cr_assert_eq (r, -c->err, "case %zu (%s): got %d, message '%s'", i,
                      c->json, r, msg);
        cr_assert_null (m, "case %zu left a map", i);
        cr_assert (strstr (msg, c->msg) != NULL,
                   "case %zu: message '%s' lacks '%s'", i, msg, c->msg);
        cr_assert (strchr (msg, '\n') == NULL,
                   "case %zu: message has a newline", i);
    }
}

static char *
repeat_nics (size_t n, const char *one)
{
    size_t len = strlen (one) + 2;
    char *s = malloc (n * len + 64);
    size_t off;

    cr_assert_not_null (s);
    off = (size_t) sprintf (s, "{\"guest\": {\"nics\": [");
    for (size_t i = 0; i < n; i++) {
        off += (size_t) sprintf (s + off, "%s%s", i ? "," : "", one);
    }
    sprintf (s + off, "]}}");
    return s;
}

Test (guest_map, caps_are_enforced)
{
    struct hv_guest_map *m = NULL;
    char *s = repeat_nics (HV_GUEST_MAX_NICS + 1, "{\"dhcp\": true}");
    char addrs[4096] = "{\"guest\": {\"nics\": [{\"name\": \"x\", "
                       "\"addresses\": [";
    size_t off = strlen (addrs);

    cr_assert_eq (hv_guest_map_parse (s, strlen (s), "m", &m), -EFBIG);
    free (s);
    for (int i = 0; i <= HV_GUEST_MAX_ADDRS; i++) {
        off += (size_t) snprintf (addrs + off, sizeof addrs - off,
                                  "%s\"10.0.%d.1/24\"", i ? "," : "", i);
    }
    snprintf (addrs + off, sizeof addrs - off, "]}]}}");
    cr_assert_eq (hv_guest_map_parse (addrs, strlen (addrs), "m", &m), -EFBIG);
    cr_assert (strstr (vmshift_internal_error_msg (), "more than 32 entries"));
    /* Exactly at the cap is fine. */
    s = malloc (HV_GUEST_MAX_NICS * 32 + 64);
    cr_assert_not_null (s);
    off = (size_t) sprintf (s, "{\"guest\": {\"nics\": [");
    for (int i = 0; i < HV_GUEST_MAX_NICS; i++) {
        off += (size_t) sprintf (s + off, "%s{\"name\": \"eth%d\"}",
                                 i ? "," : "",
                                 i);
    }
    sprintf (s + off, "]}}");
    cr_assert_eq (hv_guest_map_parse (s, strlen (s), "m", &m), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (m->nnics, HV_GUEST_MAX_NICS);
    hv_guest_map_free (m);
    free (s);
}

Test (guest_check, mac)
{
    char out[18];

    cr_assert_eq (hv_guest_check_mac ("00:50:56:AA:bb:Cc", "w", out,
                                      sizeof out), 0);
    cr_assert_str_eq (out, "00:50:56:aa:bb:cc");
    cr_assert_eq (hv_guest_check_mac ("00-50-56-aa-bb-cc", "w", out,
                                      sizeof out), 0);
    cr_assert_str_eq (out, "00:50:56:aa:bb:cc");
    cr_assert_eq (hv_guest_check_mac ("0050.56aa.bbcc", "w", out, sizeof out),
                  -EINVAL);
    cr_assert_eq (hv_guest_check_mac ("00:50:56:aa:bb:cg", "w", out,
                                      sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_mac ("00:50:56:aa:bb:cc:", "w", out,
                                      sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_mac ("00:50:56:aa:bb:cc", "w", out, 10),
                  -EINVAL);
}

Test (guest_check, ip_and_cidr)
{
    char out[64];
    int fam, pfx;

    cr_assert_eq (hv_guest_check_ip ("2001:DB8:0:0::1", 0, "w", out,
                                     sizeof out), 0);
    cr_assert_str_eq (out, "2001:db8::1");
    cr_assert_eq (hv_guest_check_ip ("192.0.2.1", 6, "w", out, sizeof out),
                  -EINVAL);
    cr_assert_eq (hv_guest_check_ip ("192.0.2.01", 4, "w", out, sizeof out),
                  -EINVAL);
    cr_assert_eq (hv_guest_check_ip ("", 0, "w", out, sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_ip ("192.0.2.1", 4, "w", out, 4), -EINVAL);
    cr_assert_eq (hv_guest_check_cidr ("10.1.2.3/8", "w", false, &fam, &pfx,
                                       out,
                                       sizeof out), 0);
    cr_assert_str_eq (out, "10.1.2.3/8");
    cr_assert_eq (fam, 4);
    cr_assert_eq (pfx, 8);
    cr_assert_eq (hv_guest_check_cidr ("10.1.2.3/8", "w", true, &fam, &pfx, out,
                                       sizeof out), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "10.0.0.0/8"));
    cr_assert_eq (hv_guest_check_cidr ("2001:db8::/32", "w", true, &fam, &pfx,
                                       out,
                                       sizeof out), 0);
    cr_assert_eq (fam, 6);
    cr_assert_eq (hv_guest_check_cidr ("2001:db8::1/127", "w", true, &fam, &pfx,
                                       out, sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_cidr ("/24", "w", false, &fam, &pfx, out,
                                       sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_cidr ("10.0.0.0/", "w", false, &fam, &pfx, out,
                                       sizeof out), -EINVAL);
    cr_assert_eq (hv_guest_check_cidr ("10.0.0.0/0008", "w", false, &fam, &pfx,
                                       out, sizeof out), -EINVAL);
}

Test (guest_check, domains_and_names)
{
    char longname[300];

    cr_assert_eq (hv_guest_check_domain ("a.example-1.com", "w"), 0);
    cr_assert_eq (hv_guest_check_domain ("_srv.example.com.", "w"), 0);
    cr_assert_eq (hv_guest_check_domain ("example-.com", "w"), -EINVAL);
    cr_assert_eq (hv_guest_check_domain (".example", "w"), -EINVAL);
    memset (longname, 'a', sizeof longname);
    for (int i = 60; i < 299; i += 61) {
        longname[i] = '.';
    }
    longname[254] = '\0';
    cr_assert_eq (hv_guest_check_domain (longname, "w"), -EINVAL);
    longname[253] = '\0';
    cr_assert_eq (hv_guest_check_domain (longname, "w"), 0);

    cr_assert_eq (hv_guest_check_name ("enp0s31f6", HV_GUEST_LINUX, "w"), 0);
    cr_assert_eq (hv_guest_check_name ("bond0.100", HV_GUEST_LINUX, "w"), 0);
    cr_assert_eq (hv_guest_check_name ("abcdefghijklmnop", HV_GUEST_LINUX,
                                       "w"), -EINVAL);
    cr_assert_eq (hv_guest_check_name ("Ethernet 2", HV_GUEST_LINUX, "w"),
                  -EINVAL);
    cr_assert_eq (hv_guest_check_name ("Ethernet 2", HV_GUEST_WINDOWS, "w"), 0);
    cr_assert_eq (hv_guest_check_name ("vEthernet (Default Switch) #2",
                                       HV_GUEST_WINDOWS, "w"), 0);
    cr_assert_eq (hv_guest_check_name ("..", HV_GUEST_LINUX, "w"), -EINVAL);
    cr_assert_eq (hv_guest_check_name ("a/b", 0, "w"), -EINVAL);
    cr_assert_eq (hv_guest_check_name ("a$b", 0, "w"), -EINVAL);
    cr_assert_eq (hv_guest_check_name ("a'b", HV_GUEST_WINDOWS, "w"), -EINVAL);
}

Test (guest_map, mode_names)
{
    enum hv_guest_mode m;
    enum hv_guest_reboot r;

    cr_assert_eq (hv_guest_mode_from_name ("none", &m), 0);
    cr_assert_eq (m, HV_GUEST_MODE_KEEP);
    cr_assert_eq (hv_guest_mode_from_name ("script", &m), 0);
    cr_assert_str_eq (hv_guest_mode_name (m), "script");
    cr_assert_str_eq (hv_guest_mode_name (HV_GUEST_MODE_UNSET), "retain");
    cr_assert_eq (hv_guest_mode_from_name ("Retain", &m), -EINVAL);
    cr_assert_eq (hv_guest_reboot_from_name ("always", &r), 0);
    cr_assert_eq (r, HV_GUEST_REBOOT_ALWAYS);
}
