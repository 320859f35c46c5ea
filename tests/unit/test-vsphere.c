/* hypervisors/vsphere/ over a fake transport: the login sequence and its
 * requests, a refused login sent once, one re-login after
 * NotAuthenticated, faults as one-line errors, paged retrieval with
 * ContinueRetrievePropertiesEx, task polling to success, failure and
 * deadline, escaping of names in requests, and the vcenters profiles. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/base/error.h"
#include "helpers/ontap-fake.h"
#include "hypervisors/vsphere/vsphere.h"

#define ENV_OPEN "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope " \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" " \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
#define ENV_CLOSE "</soapenv:Body></soapenv:Envelope>"

#define SC_REPLY ENV_OPEN "<RetrieveServiceContentResponse xmlns=\"urn:vim25\">" \
    "<returnval><rootFolder type=\"Folder\">group-d1</rootFolder>" \
    "<propertyCollector type=\"PropertyCollector\">propertyCollector" \
    "</propertyCollector><viewManager type=\"ViewManager\">ViewManager" \
    "</viewManager><about><apiType>VirtualCenter</apiType><apiVersion>7.0" \
    "</apiVersion></about><sessionManager type=\"SessionManager\">" \
    "SessionManager</sessionManager></returnval>" \
    "</RetrieveServiceContentResponse>" ENV_CLOSE
#define LOGIN_REPLY ENV_OPEN "<LoginResponse xmlns=\"urn:vim25\"><returnval>" \
    "<key>k</key></returnval></LoginResponse>" ENV_CLOSE
#define FAULT(type, msg) ENV_OPEN "<soapenv:Fault><faultcode>ServerFaultCode" \
    "</faultcode><faultstring>" msg "</faultstring><detail><" type "Fault " \
    "xmlns=\"urn:vim25\" xsi:type=\"" type "\"></" type "Fault></detail>" \
    "</soapenv:Fault>" ENV_CLOSE
#define EMPTY_REPLY(m) ENV_OPEN "<" m "Response xmlns=\"urn:vim25\"></" m \
    "Response>" ENV_CLOSE
#define VIEW_REPLY ENV_OPEN "<CreateContainerViewResponse xmlns=\"urn:vim25\">" \
    "<returnval type=\"ContainerView\">session[1]v1</returnval>" \
    "</CreateContainerViewResponse>" ENV_CLOSE

static struct vsphere_profile *
profile (void)
{
    static const char cfg[] = "{\"vcenters\": {\"vc1\": {\"url\": "
        "\"https://vc.test/sdk\", \"username\": \"u<1>\", \"password_env\": "
        "\"VMSHIFT_TEST_VC_PW\", \"task_deadline\": 5}}}";
    struct vsphere_profile *p = NULL;

    setenv ("VMSHIFT_TEST_VC_PW", "p&w\"1", 1);
    cr_assert_eq (vsphere_profile_parse (cfg, strlen (cfg), "cfg", "vc1", NULL,
                                         &p), 0, "%s",
                  vmshift_internal_error_msg ());
    return p;
}

static uint64_t
tclock_now (void *o)
{
    return *(uint64_t *) o;
}

static void
tclock_sleep (void *o, uint64_t ms)
{
    *(uint64_t *) o += ms;
}

static struct vsphere_client *
client (struct fake_transport *f, uint64_t *now)
{
    struct vsphere_profile *p = profile ();
    struct vsphere_client *c = NULL;
    struct vsphere_clock clk = { tclock_now, tclock_sleep, now };

    cr_assert_eq (vsphere_client_new_take (p, NULL, &f->t, &c), 0);
    vsphere_client_set_clock (c, &clk);
    vsphere_profile_free (p);
    return c;
}

static bool
body_has (const struct fake_transport *f, size_t i, const char *s)
{
    return f->reqs[i].body && strstr (f->reqs[i].body, s) != NULL;
}

Test (vsphere, login_sequence_and_escaping)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    struct vsphere_stats st;

    fake_push (f, 200, SC_REPLY);
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 200, EMPTY_REPLY ("Logout"));
    cr_assert_eq (vsphere_connect (c), 0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (f->reqs[0].method, "POST");
    cr_assert_str_eq (f->reqs[0].target, "/sdk");
    cr_assert (body_has (f, 0, "<RetrieveServiceContent xmlns=\"urn:vim25\">"
                         "<_this type=\"ServiceInstance\">ServiceInstance"));
    cr_assert_str_eq (fake_header (&f->reqs[0], "SOAPAction:"),
                      "SOAPAction: urn:vim25/6.5");
    cr_assert (body_has (f, 1, "<userName>u&lt;1&gt;</userName>"
                         "<password>p&amp;w&quot;1</password>"));
    cr_assert_str_eq (vsphere_client_content (c)->api_type, "VirtualCenter");
    vsphere_client_stats (c, &st);
    cr_assert_eq (st.requests, 2);
    cr_assert_eq (vsphere_logout (c), 0);
    cr_assert_eq (f->n_reqs, 3);
    cr_assert (body_has (f, 2, "<Logout xmlns=\"urn:vim25\"><_this "
                         "type=\"SessionManager\">SessionManager</_this>"));
    cr_assert_eq (vsphere_logout (c), 0);
    cr_assert_eq (f->n_reqs, 3, "logged out twice");
    vsphere_client_free (c);
}

Test (vsphere, invalid_login_once)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    const char *m;

    fake_push (f, 200, SC_REPLY);
    fake_push (f, 500, FAULT ("InvalidLogin", "Cannot complete login due to "
                              "an incorrect user name or password."));
    fake_push (f, 500, FAULT ("InvalidLogin", "again"));
    cr_assert_eq (vsphere_connect (c), -EKEYREJECTED);
    m = vmshift_internal_error_msg ();
    cr_assert (strstr (m, "login as 'u<1>' refused (InvalidLogin)"), "%s", m);
    cr_assert (strstr (m, "p&w") == NULL, "%s", m);
    cr_assert_eq (f->n_reqs, 2, "a refused login was sent again");
    cr_assert_eq (vsphere_logout (c), 0);
    cr_assert_eq (f->n_reqs, 2, "logged out without a session");
    vsphere_client_free (c);
}

Test (vsphere, relogin_once_on_not_authenticated)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    struct sbuf rep = { 0 };
    struct vsphere_moref vm = { "VirtualMachine", "vm-1" };
    struct vsphere_stats st;

    fake_push (f, 200, SC_REPLY);
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 500, FAULT ("NotAuthenticated", "session gone"));
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 200, EMPTY_REPLY ("ShutdownGuest"));
    fake_push (f, 500, FAULT ("NotAuthenticated", "gone"));
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 500, FAULT ("NotAuthenticated", "gone again"));
    cr_assert_eq (vsphere_connect (c), 0);
    cr_assert_eq (vsphere_call (c, "ShutdownGuest", &vm, NULL, &rep), 0, "%s",
                  vmshift_internal_error_msg ());
    vs_sbuf_release (&rep);
    cr_assert (body_has (f, 3, "<Login "));
    cr_assert (body_has (f, 4, "<ShutdownGuest "));
    /* a second NotAuthenticated right after the new login: error */
    cr_assert_eq (vsphere_call (c, "ShutdownGuest", &vm, NULL, &rep), -EACCES);
    cr_assert (strstr (vmshift_internal_error_msg (), "ShutdownGuest: "
                       "NotAuthenticated (gone again)"), "%s",
               vmshift_internal_error_msg ());
    vsphere_client_stats (c, &st);
    cr_assert_eq (st.relogins, 2);
    cr_assert_eq (f->n_reqs, 8);
    vsphere_client_free (c);
}

Test (vsphere, faults_map_to_errno_one_line)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    struct sbuf rep = { 0 };
    struct vsphere_moref vm = { "VirtualMachine", "vm-1" };
    const char *m;

    fake_push (f, 200, SC_REPLY);
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 500, FAULT ("InvalidPowerState", "The attempted operation\n"
                              "cannot be performed in the current state"));
    fake_push (f, 500, FAULT ("TaskInProgress", "busy"));
    fake_push (f, 404, "not here");
    fake_push (f, 200, "<html>not soap</html>");
    cr_assert_eq (vsphere_connect (c), 0);
    cr_assert_eq (vsphere_call (c, "PowerOnVM_Task", &vm, NULL, &rep), -EINVAL);
    m = vmshift_internal_error_msg ();
    cr_assert (strchr (m, '\n') == NULL, "%s", m);
    cr_assert (strstr (m, "vCenter 'vc1': PowerOnVM_Task: InvalidPowerState "
                       "(The attempted operation cannot"), "%s", m);
    cr_assert_eq (vsphere_call (c, "PowerOnVM_Task", &vm, NULL, &rep), -EBUSY);
    cr_assert_eq (vsphere_call (c, "PowerOnVM_Task", &vm, NULL, &rep), -ENOENT);
    cr_assert (strstr (vmshift_internal_error_msg (), "HTTP status 404"));
    cr_assert_eq (vsphere_call (c, "PowerOnVM_Task", &vm, NULL, &rep), -EPROTO);
    cr_assert_eq (vsphere_fault_errno ("InvalidLogin"), EKEYREJECTED);
    cr_assert_eq (vsphere_fault_errno ("SomethingNew"), EIO);
    fake_push (f, 200, EMPTY_REPLY ("Logout"));
    vsphere_client_free (c);
}

#define PAGE(objs, tok) ENV_OPEN "<RetrievePropertiesExResponse " \
    "xmlns=\"urn:vim25\"><returnval>" tok objs "</returnval>" \
    "</RetrievePropertiesExResponse>" ENV_CLOSE
#define VMOBJ(id, name) "<objects><obj type=\"VirtualMachine\">" id "</obj>" \
    "<propSet><name>name</name><val xsi:type=\"xsd:string\">" name "</val>" \
    "</propSet><propSet><name>runtime.powerState</name><val " \
    "xsi:type=\"VirtualMachinePowerState\">poweredOn</val></propSet></objects>"

Test (vsphere, paged_retrieval_follows_the_token)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    struct vsphere_inventory inv;
    struct vsphere_stats st;

    memset (&inv, 0, sizeof inv);
    fake_push (f, 200, SC_REPLY);
    fake_push (f, 200, LOGIN_REPLY);
    fake_push (f, 200, VIEW_REPLY);
    fake_push (f, 200, PAGE (VMOBJ ("vm-1", "a&amp;b"), "<token>t&lt;1</token>"));
    fake_push (f, 200, PAGE (VMOBJ ("vm-2", "c\"]&#10;d"), "<token>t2</token>"));
    fake_push (f, 200, PAGE (VMOBJ ("vm-3", "e"), ""));
    fake_push (f, 200, EMPTY_REPLY ("DestroyView"));
    cr_assert_eq (vsphere_inventory_fetch (c, &inv), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_eq (inv.vms.len, 3);
    cr_assert_str_eq (inv.vms.ptr[0].name, "a&b");
    cr_assert_str_eq (inv.vms.ptr[1].name, "c\"]\nd");
    cr_assert_str_eq (inv.vms.ptr[2].power_state, "poweredOn");
    cr_assert (body_has (f, 2, "<container type=\"Folder\">group-d1</container>"));
    cr_assert (body_has (f, 3, "<maxObjects>1000</maxObjects>"));
    cr_assert (body_has (f, 3, "<obj type=\"ContainerView\">session[1]v1</obj>"));
    cr_assert (body_has (f, 3, "<pathSet>config.hardware.device</pathSet>"));
    cr_assert (body_has (f, 4, "<ContinueRetrievePropertiesEx "));
    cr_assert (body_has (f, 4, "<token>t&lt;1</token>"));
    cr_assert (body_has (f, 5, "<token>t2</token>"));
    cr_assert (body_has (f, 6, "<DestroyView "));
    vsphere_client_stats (c, &st);
    cr_assert_eq (st.pages, 3);
    cr_assert_eq (st.requests, 7);
    vsphere_inventory_release (&inv);
    fake_push (f, 200, EMPTY_REPLY ("Logout"));
    vsphere_client_free (c);
}

#define TASK_REPLY(m) ENV_OPEN "<" m "Response xmlns=\"urn:vim25\"><returnval " \
    "type=\"Task\">task-7</returnval></" m "Response>" ENV_CLOSE
#define TASK_INFO(state, extra) PAGE ("<objects><obj type=\"Task\">task-7</obj>" \
    "<propSet><name>info</name><val xsi:type=\"TaskInfo\"><key>task-7</key>" \
    "<state>" state "</state>" extra "</val></propSet></objects>", "")

Test (vsphere, task_polled_until_it_ends)
{
    struct fake_transport *f = fake_new ();
    uint64_t now = 0;
    struct vsphere_client *c = client (f, &now);
    struct vsphere_moref vm = { "VirtualMachine", "vm-1" }, snap;

    fake_push (f, 200, SC_REPLY);
    fake_push (f, 200, LOGIN_REPLY);
    cr_assert_eq (vsphere_connect (c), 0);
    fake_push (f, 200, TASK_REPLY ("CreateSnapshot_Task"));
    fake_push (f, 200, TASK_INFO ("queued", ""));
    fake_push (f, 200, TASK_INFO ("running", ""));
    fake_push (f, 200, TASK_INFO ("success", "<result type=\"VirtualMachine"
                                  "Snapshot\">snapshot-9</result>"));
    cr_assert_eq (vsphere_snapshot_create (c, &vm, "n<1>", "d", false, &snap),
                  0, "%s", vmshift_internal_error_msg ());
    cr_assert_str_eq (snap.value, "snapshot-9");
    cr_assert (body_has (f, 2, "<name>n&lt;1&gt;</name><description>d"
                         "</description><memory>false</memory><quiesce>false"));
    cr_assert_eq (now, 300, "polled after 100 and 200 ms, not %llu",
                  (unsigned long long) now);
    /* a task that fails */
    fake_push (f, 200, TASK_REPLY ("PowerOffVM_Task"));
    fake_push (f, 200, TASK_INFO ("error", "<error><fault xsi:type=\"Invalid"
                                  "PowerState\"></fault><localizedMessage>"
                                  "off already</localizedMessage></error>"));
    cr_assert_eq (vsphere_vm_power_off (c, &vm), -EINVAL);
    cr_assert (strstr (vmshift_internal_error_msg (), "power off failed: "
                       "InvalidPowerState (off already)"), "%s",
               vmshift_internal_error_msg ());
    /* a task that never ends: the profile's 5 s deadline */
    fake_push (f, 200, TASK_REPLY ("PowerOnVM_Task"));
    for (int i = 0; i < 20; i++) {
        fake_push (f, 200, TASK_INFO ("running", ""));
    }
    cr_assert_eq (vsphere_vm_power_on (c, &vm), -ETIMEDOUT);
    cr_assert (strstr (vmshift_internal_error_msg (), "did not finish within "
                       "5 s"), "%s", vmshift_internal_error_msg ());
    fake_push (f, 200, EMPTY_REPLY ("Logout"));
    vsphere_client_free (c);
}

Test (vsphere, profiles)
{
    struct vsphere_profile *p = NULL;
    static const struct { const char *cfg, *msg; } bad[] = {
        { "{\"vcenters\": {\"vc1\": {\"url\": \"http://x\", \"username\": "
          "\"u\", \"password_env\": \"X\"}}}", "must be https://" },
        { "{\"vcenters\": {\"vc1\": {\"url\": \"https://x\", \"username\": "
          "\"u\", \"password\": \"secret\"}}}", "passwords are not read" },
        { "{\"vcenters\": {\"vc1\": {\"url\": \"https://x\", \"username\": "
          "\"u\", \"password_env\": \"X\", \"insecure\": true, \"ca_file\": "
          "\"/ca.pem\"}}}", "choose one of" },
        { "{\"vcenters\": {\"vc1\": {\"url\": \"https://x\", \"username\": "
          "\"u\", \"password_file\": \"rel.pw\"}}}", "absolute path" },
        { "{\"vcenters\": {\"vc1\": {\"url\": \"https://x\", \"username\": "
          "\"u\", \"password_env\": \"X\", \"fingerprint_sha256\": \"AB\"}}}",
          "has 2 hex digits" },
        { "{\"profiles\": {}}", "no \"vcenters\"" },
        { "{\"vcenters\": {}}", "no vCenter profile 'vc1'" },
    };
    static const char good[] = "{\"vcenters\": {\"vc1\": {\"url\": "
        "\"https://vc.example.com:8443\", \"username\": \"u\", "
        "\"password_env\": \"X\", \"fingerprint_sha256\": \"" "ab:cd:ef:01:"
        "23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"
        ":01:23:45:67:89\"}}}";

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq (vsphere_profile_parse (bad[i].cfg, strlen (bad[i].cfg),
                                             "cfg", "vc1", NULL, &p), i < 6
                      ? -EINVAL : -ENOENT, "case %zu", i);
        cr_assert (strstr (vmshift_internal_error_msg (), bad[i].msg), "%zu: %s",
                   i, vmshift_internal_error_msg ());
        cr_assert (strstr (vmshift_internal_error_msg (), "secret") == NULL);
    }
    cr_assert_eq (vsphere_profile_parse (good, strlen (good), "cfg", "vc1", NULL,
                                         &p), 0, "%s",
                  vmshift_internal_error_msg ());
    cr_assert_str_eq (p->base, "https://vc.example.com:8443");
    cr_assert_str_eq (p->path, "/sdk");
    cr_assert_eq (strncmp (p->fingerprint_sha256, "AB:CD:EF:01", 11), 0);
    cr_assert_eq (p->task_deadline, 600);
    vsphere_profile_free (p);
}

Test (vsphere, replies_refused)
{
    struct vsphere_inventory inv;
    char *tok = NULL;
    static const char dtd[] = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a "
        "\"aaaa\">]><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap."
        "org/soap/envelope/\"><soapenv:Body><RetrievePropertiesExResponse>"
        "<returnval><objects><obj type=\"VirtualMachine\">&a;</obj></objects>"
        "</returnval></RetrievePropertiesExResponse></soapenv:Body>"
        "</soapenv:Envelope>";
    static const char noname[] = PAGE ("<objects><obj type=\"VirtualMachine\">"
                                       "vm-1</obj></objects>", "");
    static const char truncated[] = ENV_OPEN "<RetrievePropertiesExResponse>"
        "<returnval><objects><obj type=\"Virtual";

    memset (&inv, 0, sizeof inv);
    cr_assert_eq (vsphere_decode_retrieve (dtd, strlen (dtd), "r", &inv, &tok),
                  -EPROTO);
    cr_assert_eq (vsphere_decode_retrieve (noname, strlen (noname), "r", &inv,
                                           &tok), -EPROTO);
    cr_assert_eq (vsphere_decode_retrieve (truncated, strlen (truncated), "r",
                                           &inv, &tok), -EPROTO);
    cr_assert_eq (vsphere_decode_retrieve ("", 0, "r", &inv, &tok), -EPROTO);
    cr_assert_eq (inv.vms.len, 0);
    vsphere_inventory_release (&inv);
}

/* A reply that declares another encoding is read as UTF-8 (SOAP replies
 * are): converting from the declared one printed libxml2's "encoding
 * error" lines on stderr for bad bytes (found by fuzz-vsphere-reply). */
Test (vsphere, declared_encoding_ignored, .init = cr_redirect_stderr)
{
    static const char bad[] = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP"
        "\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/"
        "soap/envelope/\"><soapenv:Body><RetrievePropertiesExResponse "
        "xmlns=\"urn:vim25\"><returnval><objects><obj type=\"VirtualMachine"
        "\">\x91\x91\x91\x91</obj></objects></returnval>"
        "</RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>";
    static const char ascii[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1"
        "\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/"
        "soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-"
        "instance\"><soapenv:Body><RetrievePropertiesExResponse xmlns=\""
        "urn:vim25\"><returnval>" VMOBJ ("vm-1", "web01") "</returnval>"
        "</RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>";
    struct vsphere_inventory inv;
    char *tok = NULL;

    memset (&inv, 0, sizeof inv);
    cr_assert_eq (vsphere_decode_retrieve (bad, strlen (bad), "r", &inv,
                                           &tok), -EPROTO);
    cr_assert_eq (vsphere_decode_retrieve (ascii, strlen (ascii), "r", &inv,
                                           &tok), 0);
    cr_assert_eq (inv.vms.len, 1);
    cr_assert_str_eq (inv.vms.ptr[0].name, "web01");
    vsphere_inventory_release (&inv);
    fflush (stderr);
    cr_assert_stderr_eq_str ("");
}
