// vcsim for vmshift's tests: VMware's vCenter simulator (govmomi's
// simulator package, from Debian) on 127.0.0.1 over TLS with a certificate
// made here.  Prints URL=, FINGERPRINT= (SHA-256 of the certificate) and
// CA= (its PEM file), then serves until killed.  Test hooks under
// /vcsim-test/: stats (SOAP requests by method), deaf?vm=NAME (ShutdownGuest
// is accepted and ignored), failsnap?vm=NAME (snapshot tasks fail),
// expire?method=M (before the next M request is served, its session is
// ended with SessionManager.TerminateSession, as an administrator or an
// idle timeout would), guestinfo?vm=NAME (POST: a JSON object {"net":
// [{"ipConfig": NetIpConfigInfo, "dnsConfig": NetDnsConfigInfo}, ...],
// "ipStack": [GuestStackInfo]}, field names as in the vSphere API, set on
// the VM's guest.net entries in order and as its guest.ipStack: what
// VMware Tools would report; the simulator has no guest to report it).
// With -max-objects, RetrievePropertiesEx honours RetrieveOptions
// .maxObjects and ContinueRetrievePropertiesEx hands out the rest by
// token, as vCenter does: govmomi 0.24's simulator answers in one page
// whatever maxObjects says and has no ContinueRetrievePropertiesEx.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/ioutil"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type deafVM struct{ simulator.VirtualMachine }

func (vm *deafVM) ShutdownGuest(ctx *simulator.Context, c *types.ShutdownGuest) soap.HasFault {
	return &methods.ShutdownGuestBody{Res: new(types.ShutdownGuestResponse)}
}

type failSnapVM struct{ simulator.VirtualMachine }

func (vm *failSnapVM) CreateSnapshotTask(req *types.CreateSnapshot_Task) soap.HasFault {
	task := simulator.CreateTask(req.This, "createSnapshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, &types.FileFault{File: "injected by vcsim-test"}
	})
	return &methods.CreateSnapshot_TaskBody{Res: &types.CreateSnapshot_TaskResponse{Returnval: task.Run()}}
}

// Ends session key through the simulator's own SessionManager, from a
// session of its own.
// Its requests are not counted in stats.
func terminate(u *url.URL, key string) {
	ctx := context.Background()
	sc := soap.NewClient(u, true)
	sc.UserAgent = hookAgent
	vc, err := vim25.NewClient(ctx, sc)
	must(err)
	sm := session.NewManager(vc)
	must(sm.Login(ctx, u.User))
	defer sm.Logout(ctx)
	must(sm.TerminateSession(ctx, []string{key}))
}

const hookAgent = "vcsim-test-hook"

// The PropertyCollector with paging.  The simulator makes one per session
// with reflect.New of this type, so it keeps no state of its own.
type pagingPC struct{ simulator.PropertyCollector }

var pages = struct {
	sync.Mutex
	n    int
	rest map[string][]types.ObjectContent
	max  map[string]int32
}{rest: map[string][]types.ObjectContent{}, max: map[string]int32{}}

// The first max objects of objs, and a token for the rest.
func page(objs []types.ObjectContent, max int32) types.RetrieveResult {
	res := types.RetrieveResult{Objects: objs}
	if max > 0 && int(max) < len(objs) {
		pages.Lock()
		pages.n++
		tok := fmt.Sprintf("vcsim-page-%d", pages.n)
		pages.rest[tok], pages.max[tok] = objs[max:], max
		pages.Unlock()
		res.Objects, res.Token = objs[:max], tok
	}
	return res
}

func (pc *pagingPC) RetrievePropertiesEx(ctx *simulator.Context,
	r *types.RetrievePropertiesEx) soap.HasFault {
	res := pc.PropertyCollector.RetrievePropertiesEx(ctx, r)
	body := res.(*methods.RetrievePropertiesExBody)
	if body.Res != nil && body.Res.Returnval != nil {
		pg := page(body.Res.Returnval.Objects, r.Options.MaxObjects)
		body.Res.Returnval = &pg
	}
	return body
}

func (pc *pagingPC) ContinueRetrievePropertiesEx(ctx *simulator.Context,
	r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	pages.Lock()
	objs, ok := pages.rest[r.Token]
	max := pages.max[r.Token]
	delete(pages.rest, r.Token)
	delete(pages.max, r.Token)
	pages.Unlock()
	body := &methods.ContinueRetrievePropertiesExBody{}
	if !ok {
		body.Fault_ = simulator.Fault("unknown token",
			&types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	body.Res = &types.ContinueRetrievePropertiesExResponse{
		Returnval: page(objs, max)}
	return body
}

type guestNet struct {
	IpConfig  *types.NetIpConfigInfo  `json:"ipConfig"`
	DnsConfig *types.NetDnsConfigInfo `json:"dnsConfig"`
}

type guestInfo struct {
	Net     []guestNet             `json:"net"`
	IpStack []types.GuestStackInfo `json:"ipStack"`
}

// Sets what VMware Tools would report of vm's IP configuration; the
// flat guest.net[].ipAddress list follows ipConfig, as Tools report it.
func setGuestInfo(vm *simulator.VirtualMachine, r *http.Request) error {
	var gi guestInfo
	if err := json.NewDecoder(r.Body).Decode(&gi); err != nil {
		return err
	}
	var err error
	simulator.Map.WithLock(vm, func() {
		if len(gi.Net) > len(vm.Guest.Net) {
			err = fmt.Errorf("%d guest.net entries for %d NICs",
				len(gi.Net), len(vm.Guest.Net))
			return
		}
		for i, n := range gi.Net {
			g := &vm.Guest.Net[i]
			g.IpConfig, g.DnsConfig, g.IpAddress = n.IpConfig, n.DnsConfig, nil
			if n.IpConfig != nil {
				for _, a := range n.IpConfig.IpAddress {
					g.IpAddress = append(g.IpAddress, a.IpAddress)
				}
			}
		}
		vm.Guest.IpStack = gi.IpStack
	})
	return err
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcsim:", err)
		os.Exit(1)
	}
}

// A self-signed certificate for 127.0.0.1 and localhost.
func makeCert(dir string) (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tpl := x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject: pkix.Name{CommonName: "vcsim-test"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, &tpl, &tpl, &key.PublicKey, key)
	must(err)
	pemb := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	must(ioutil.WriteFile(filepath.Join(dir, "ca.pem"), pemb, 0644))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

var soapMethod = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?Body[^>]*>\s*<(?:[A-Za-z0-9]+:)?([A-Za-z_]+)`)

func main() {
	esx := flag.Bool("esx", false, "a standalone ESXi instead of a vCenter")
	vms := flag.Int("vm", -1, "VMs per host/cluster (default: the model's)")
	hosts := flag.Int("host", -1, "standalone hosts (default: the model's)")
	dss := flag.Int("ds", -1, "datastores (default: the model's)")
	dir := flag.String("dir", ".", "directory for ca.pem")
	user := flag.String("user", "vmshift", "user name")
	pwfile := flag.String("password-file", "", "file holding the password")
	paged := flag.Bool("max-objects", false,
		"honour RetrieveOptions.maxObjects (paging)")
	flag.Parse()

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	}
	if *vms >= 0 {
		model.Machine = *vms
	}
	if *hosts >= 0 {
		model.Host = *hosts
	}
	if *dss >= 0 {
		model.Datastore = *dss
	}
	must(model.Create())
	if *paged {
		ref := types.ManagedObjectReference{Type: "PropertyCollector",
			Value: "propertyCollector"}
		if simulator.Map.Get(ref) == nil {
			must(fmt.Errorf("no %v", ref))
		}
		pc := &pagingPC{}
		pc.Self = ref
		simulator.Map.Put(pc)
	}
	pw, err := ioutil.ReadFile(*pwfile)
	must(err)
	cert, der := makeCert(*dir)
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0",
		User: url.UserPassword(*user, strings.TrimRight(string(pw), "\n"))}

	var mu sync.Mutex
	counts := map[string]int{}
	expire := ""
	hook := func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("vm")
		switch strings.TrimPrefix(r.URL.Path, "/vcsim-test/") {
		case "stats":
			mu.Lock()
			defer mu.Unlock()
			_ = json.NewEncoder(w).Encode(counts)
			return
		case "expire":
			mu.Lock()
			expire = r.URL.Query().Get("method")
			mu.Unlock()
		case "deaf", "failsnap", "guestinfo":
			var vm *simulator.VirtualMachine
			for _, e := range simulator.Map.All("VirtualMachine") {
				if v, ok := e.(*simulator.VirtualMachine); ok && v.Name == name {
					vm = v
				}
			}
			if vm == nil {
				http.Error(w, "no such VM", http.StatusNotFound)
				return
			}
			if strings.HasSuffix(r.URL.Path, "guestinfo") {
				if err := setGuestInfo(vm, r); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
			} else if strings.HasSuffix(r.URL.Path, "deaf") {
				simulator.Map.Put(&deafVM{*vm})
			} else {
				simulator.Map.Put(&failSnapVM{*vm})
			}
		}
		fmt.Fprintln(w, "ok")
	}
	model.Service.HandleFunc("/vcsim-test/", hook)
	srv := model.Service.NewServer()
	sdk := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk") &&
			r.UserAgent() != hookAgent {
			b, _ := ioutil.ReadAll(r.Body)
			r.Body = ioutil.NopCloser(bytes.NewReader(b))
			m := "unknown"
			if s := soapMethod.FindSubmatch(b); s != nil {
				m = string(s[1])
			}
			mu.Lock()
			counts[m]++
			counts["total"]++
			kill := m == expire
			if kill {
				expire = ""
			}
			mu.Unlock()
			if c, err := r.Cookie(soap.SessionCookieName); err == nil && kill {
				terminate(srv.URL, c.Value)
			}
		}
		sdk.ServeHTTP(w, r)
	})
	sum := sha256.Sum256(der)
	fp := make([]string, len(sum))
	for i, b := range sum {
		fp[i] = fmt.Sprintf("%02X", b)
	}
	u := *srv.URL
	u.User = nil
	fmt.Printf("URL=%s\nFINGERPRINT=%s\nCA=%s\n", u.String(), strings.Join(fp, ":"),
		filepath.Join(*dir, "ca.pem"))
	os.Stdout.Sync()
	select {}
}
