// vcsim-ctl: vmshift's tests read back and arrange what the simulator holds
// through the simulator's own API (govmomi), never through vmshift.
//
//	vcsim-ctl dump [NAME...]          VMs as JSON, in vmshift inventory's keys
//	vcsim-ctl datastores              datastores as JSON
//	vcsim-ctl add-nas LOCAL HOST PATH a NAS datastore (named after LOCAL's base)
//	vcsim-ctl create-vm NAME [flags]  see createVM
//	vcsim-ctl power NAME on|off|shutdown
//	vcsim-ctl snapshot NAME SNAP      prints the snapshot's id
//	vcsim-ctl folder NAME             a folder under the first datacenter's vm folder
//	vcsim-ctl terminate-sessions      SessionManager.TerminateSession for all others
//
// Connection: VCSIM_URL, VCSIM_USER, VCSIM_PASSWORD_FILE, VCSIM_CA.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

var ctx = context.Background()

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "vcsim-ctl:", err)
		os.Exit(1)
	}
}

func connect() *govmomi.Client {
	u, err := url.Parse(os.Getenv("VCSIM_URL"))
	must(err)
	pw, err := ioutil.ReadFile(os.Getenv("VCSIM_PASSWORD_FILE"))
	must(err)
	sc := soap.NewClient(u, false)
	must(sc.SetRootCAs(os.Getenv("VCSIM_CA")))
	vc, err := vim25.NewClient(ctx, sc)
	must(err)
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	must(c.Login(ctx, url.UserPassword(os.Getenv("VCSIM_USER"), strings.TrimRight(string(pw), "\n"))))
	return c
}

type nic struct {
	Mac     string   `json:"mac"`
	Network string   `json:"network"`
	Kind    string   `json:"network_kind"`
	IPs     []string `json:"ips"`
}
type disk struct {
	File       string `json:"file"`
	Datastore  string `json:"datastore"`
	Capacity   int64  `json:"capacity_bytes"`
	Thin       bool   `json:"thin"`
	Controller string `json:"controller"`
	Mode       string `json:"mode"`
}
type blocker struct {
	Kind   string `json:"kind"`
	Device string `json:"device"`
}
type vmOut struct {
	Name       string    `json:"name"`
	UUID       string    `json:"instance_uuid"`
	Power      string    `json:"power_state"`
	GuestID    string    `json:"guest_id"`
	Firmware   string    `json:"firmware"`
	SecureBoot bool      `json:"secure_boot"`
	CPUs       int32     `json:"cpus"`
	MemoryMiB  int32     `json:"memory_mib"`
	Tools      string    `json:"tools_status"`
	ToolsRun   string    `json:"tools_running"`
	Folder     string    `json:"folder"`
	NICs       []nic     `json:"nics"`
	Disks      []disk    `json:"disks"`
	Snapshots  []string  `json:"snapshots"`
	Blockers   []blocker `json:"blockers"`
}

func snapNames(t []types.VirtualMachineSnapshotTree, out *[]string) {
	for _, s := range t {
		*out = append(*out, s.Name)
		snapNames(s.ChildSnapshotList, out)
	}
}

func ctrlName(devs object.VirtualDeviceList, key int32, unit *int32) string {
	c := devs.FindByKey(key)
	kind, bus := "other", int32(0)
	switch x := c.(type) {
	case types.BaseVirtualSCSIController:
		kind, bus = "scsi", x.GetVirtualSCSIController().BusNumber
	case *types.VirtualIDEController:
		kind, bus = "ide", x.BusNumber
	case *types.VirtualAHCIController:
		kind, bus = "sata", x.BusNumber
	case *types.VirtualNVMEController:
		kind, bus = "nvme", x.BusNumber
	}
	u := int32(-1)
	if unit != nil {
		u = *unit
	}
	return fmt.Sprintf("%s%d:%d", kind, bus, u)
}

func dump(c *govmomi.Client, names []string) {
	f := find.NewFinder(c.Client, true)
	dcs, err := f.DatacenterList(ctx, "*")
	must(err)
	pc := property.DefaultCollector(c.Client)
	var out []vmOut
	for _, dc := range dcs {
		f.SetDatacenter(dc)
		list, err := f.VirtualMachineList(ctx, dc.InventoryPath+"/vm/...")
		if err != nil {
			fmt.Fprintln(os.Stderr, "vcsim-ctl:", err)
			continue
		}
		var pgs []mo.DistributedVirtualPortgroup
		if l, err := f.NetworkList(ctx, "*"); err == nil {
			var refs []types.ManagedObjectReference
			for _, n := range l {
				if n.Reference().Type == "DistributedVirtualPortgroup" {
					refs = append(refs, n.Reference())
				}
			}
			if len(refs) > 0 {
				must(pc.Retrieve(ctx, refs, []string{"name", "key"}, &pgs))
			}
		}
		for _, v := range list {
			var m mo.VirtualMachine
			must(pc.RetrieveOne(ctx, v.Reference(), []string{"name", "config", "runtime.powerState", "guest", "snapshot"}, &m))
			if len(names) > 0 && !contains(names, m.Name) {
				continue
			}
			out = append(out, vmOf(c, pc, &m, path.Dir(v.InventoryPath), pgs))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	must(enc.Encode(map[string]interface{}{"vms": out}))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func vmOf(c *govmomi.Client, pc *property.Collector, m *mo.VirtualMachine, folder string, pgs []mo.DistributedVirtualPortgroup) vmOut {
	o := vmOut{Name: m.Name, Power: string(m.Runtime.PowerState), Folder: folder,
		NICs: []nic{}, Disks: []disk{}, Snapshots: []string{}, Blockers: []blocker{}}
	cfg := m.Config
	o.UUID, o.GuestID, o.Firmware = cfg.InstanceUuid, cfg.GuestId, cfg.Firmware
	if cfg.BootOptions != nil && cfg.BootOptions.EfiSecureBootEnabled != nil {
		o.SecureBoot = *cfg.BootOptions.EfiSecureBootEnabled
	}
	o.CPUs, o.MemoryMiB = cfg.Hardware.NumCPU, cfg.Hardware.MemoryMB
	if m.Guest != nil {
		o.Tools, o.ToolsRun = string(m.Guest.ToolsStatus), m.Guest.ToolsRunningStatus
	}
	devs := object.VirtualDeviceList(cfg.Hardware.Device)
	for _, d := range devs {
		switch x := d.(type) {
		case *types.VirtualDisk:
			vd := x.GetVirtualDevice()
			ctl := ctrlName(devs, vd.ControllerKey, vd.UnitNumber)
			dk := disk{Capacity: x.CapacityInBytes, Controller: ctl}
			if dk.Capacity == 0 {
				dk.Capacity = x.CapacityInKB * 1024
			}
			switch b := vd.Backing.(type) {
			case *types.VirtualDiskFlatVer2BackingInfo:
				dk.File, dk.Mode = b.FileName, b.DiskMode
				dk.Thin = b.ThinProvisioned != nil && *b.ThinProvisioned
				if b.Sharing == "sharingMultiWriter" {
					o.Blockers = append(o.Blockers, blocker{"multi-writer", ctl})
				}
				if b.Datastore != nil {
					var ds mo.Datastore
					must(pc.RetrieveOne(ctx, *b.Datastore, []string{"name"}, &ds))
					dk.Datastore = ds.Name
				}
			case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
				dk.File, dk.Mode = b.FileName, b.DiskMode
				o.Blockers = append(o.Blockers, blocker{"rdm", ctl})
			}
			if strings.HasPrefix(dk.Mode, "independent") {
				o.Blockers = append(o.Blockers, blocker{"independent", ctl})
			}
			o.Disks = append(o.Disks, dk)
		case types.BaseVirtualEthernetCard:
			e := x.GetVirtualEthernetCard()
			n := nic{Mac: e.MacAddress, IPs: []string{}}
			switch b := e.Backing.(type) {
			case *types.VirtualEthernetCardNetworkBackingInfo:
				n.Network, n.Kind = b.DeviceName, "standard"
			case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
				n.Kind = "distributed"
				for _, pg := range pgs {
					if pg.Key == b.Port.PortgroupKey {
						n.Network = pg.Name
					}
				}
			}
			if m.Guest != nil {
				for _, g := range m.Guest.Net {
					if g.DeviceConfigId == e.Key {
						n.IPs = append(n.IPs, g.IpAddress...)
					}
				}
			}
			o.NICs = append(o.NICs, n)
		case *types.VirtualPCIPassthrough:
			o.Blockers = append(o.Blockers, blocker{"pci-passthrough", fmt.Sprintf("pci:%d", x.Key)})
		}
	}
	if m.Snapshot != nil {
		snapNames(m.Snapshot.RootSnapshotList, &o.Snapshots)
	}
	return o
}

func datastores(c *govmomi.Client) {
	m := newView(c, "Datastore")
	var dss []mo.Datastore
	must(m.Retrieve(ctx, []string{"Datastore"}, []string{"name", "summary", "info"}, &dss))
	type dsOut struct {
		Name, Type, URL, RemoteHost, RemotePath string
	}
	var out []dsOut
	for _, d := range dss {
		o := dsOut{Name: d.Name, Type: d.Summary.Type, URL: d.Summary.Url}
		if n, ok := d.Info.(*types.NasDatastoreInfo); ok && n.Nas != nil {
			o.RemoteHost, o.RemotePath = n.Nas.RemoteHost, n.Nas.RemotePath
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	must(json.NewEncoder(os.Stdout).Encode(out))
}

func newView(c *govmomi.Client, kind string) *viewT {
	return &viewT{c}
}

type viewT struct{ c *govmomi.Client }

func (v *viewT) Retrieve(ctx context.Context, kinds []string, props []string, dst interface{}) error {
	m := view.NewManager(v.c.Client)
	cv, err := m.CreateContainerView(ctx, v.c.ServiceContent.RootFolder, kinds, true)
	if err != nil {
		return err
	}
	defer cv.Destroy(ctx)
	return cv.Retrieve(ctx, kinds, props, dst)
}

func firstHost(c *govmomi.Client) (*object.HostSystem, *object.ResourcePool, *object.Datacenter) {
	f := find.NewFinder(c.Client, true)
	dc, err := f.DatacenterOrDefault(ctx, "")
	must(err)
	f.SetDatacenter(dc)
	hosts, err := f.HostSystemList(ctx, "*")
	if err != nil {
		hosts, err = f.HostSystemList(ctx, "*/*")
	}
	must(err)
	pool, err := hosts[0].ResourcePool(ctx)
	must(err)
	return hosts[0], pool, dc
}

func addNas(c *govmomi.Client, local, host, rpath string) {
	h, _, _ := firstHost(c)
	dss, err := h.ConfigManager().DatastoreSystem(ctx)
	must(err)
	ds, err := dss.CreateNasDatastore(ctx, types.HostNasVolumeSpec{RemoteHost: host,
		RemotePath: rpath, LocalPath: local, AccessMode: "readWrite", Type: "NFS"})
	must(err)
	fmt.Println(ds.Reference().Value)
}

// create-vm NAME -ds DS -disks "SIZE_MB[:thin|:thick|:indep][@DS],..." -nics "NET,..." -ips "IP,..."
// (a disk's @DS puts it on another datastore, in a folder NAME there)
// -efi -secure-boot -cpus N -mem MB -guest ID -folder NAME -snapshots "a,b" -on
func createVM(c *govmomi.Client, name string, args []string) {
	fs := flag.NewFlagSet("create-vm", flag.ExitOnError)
	dsName := fs.String("ds", "", "datastore")
	disks := fs.String("disks", "", "disk sizes")
	nics := fs.String("nics", "", "networks")
	ips := fs.String("ips", "", "guest IPs, one per NIC")
	efi := fs.Bool("efi", false, "EFI firmware")
	sb := fs.Bool("secure-boot", false, "Secure Boot")
	cpus := fs.Int("cpus", 1, "CPUs")
	mem := fs.Int("mem", 512, "memory MiB")
	guest := fs.String("guest", "otherLinux64Guest", "guest OS id")
	folder := fs.String("folder", "", "folder under the vm folder")
	snaps := fs.String("snapshots", "", "snapshots to take")
	on := fs.Bool("on", false, "power on")
	must(fs.Parse(args))

	h, pool, dc := firstHost(c)
	f := find.NewFinder(c.Client, true)
	f.SetDatacenter(dc)
	ds, err := f.Datastore(ctx, *dsName)
	must(err)
	dcf, err := dc.Folders(ctx)
	must(err)
	vmf := dcf.VmFolder
	if *folder != "" {
		sub, err := f.Folder(ctx, path.Join(dcf.VmFolder.InventoryPath, *folder))
		must(err)
		vmf = sub
	}
	spec := types.VirtualMachineConfigSpec{Name: name, GuestId: *guest, NumCPUs: int32(*cpus),
		MemoryMB: int64(*mem), Files: &types.VirtualMachineFileInfo{VmPathName: "[" + ds.Name() + "]"}}
	if *efi {
		spec.Firmware = "efi"
		spec.BootOptions = &types.VirtualMachineBootOptions{EfiSecureBootEnabled: sb}
	}
	var devs object.VirtualDeviceList
	scsi, err := devs.CreateSCSIController("pvscsi")
	must(err)
	scsi.(types.BaseVirtualController).GetVirtualController().Key = -100
	devs = append(devs, scsi)
	var chg []types.BaseVirtualDeviceConfigSpec
	chg = append(chg, &types.VirtualDeviceConfigSpec{Operation: "add", Device: scsi})
	for i, d := range strings.Split(*disks, ",") {
		if d == "" {
			continue
		}
		dds := ds
		if at := strings.Index(d, "@"); at >= 0 {
			dds, err = f.Datastore(ctx, d[at+1:])
			must(err)
			d = d[:at]
		}
		parts := strings.Split(d, ":")
		mb, err := strconv.ParseInt(parts[0], 10, 64)
		must(err)
		thin, mode := true, "persistent"
		for _, p := range parts[1:] {
			switch p {
			case "thick":
				thin = false
			case "indep":
				mode = "independent_persistent"
			}
		}
		file := fmt.Sprintf("[%s] %s/%s_%d.vmdk", dds.Name(), name, name, i)
		unit := int32(i)
		if unit >= 7 {
			unit++
		}
		disk := &types.VirtualDisk{CapacityInKB: mb * 1024, CapacityInBytes: mb << 20,
			VirtualDevice: types.VirtualDevice{Key: int32(-200 - i), ControllerKey: -100, UnitNumber: &unit,
				Backing: &types.VirtualDiskFlatVer2BackingInfo{DiskMode: mode, ThinProvisioned: &thin,
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file,
						Datastore: types.NewReference(dds.Reference())}}}}
		chg = append(chg, &types.VirtualDeviceConfigSpec{Operation: "add", FileOperation: "create", Device: disk})
	}
	var nicMap []types.CustomizationAdapterMapping
	ipl := strings.Split(*ips, ",")
	for i, n := range strings.Split(*nics, ",") {
		if n == "" {
			continue
		}
		net, err := f.Network(ctx, n)
		must(err)
		b, err := net.EthernetCardBackingInfo(ctx)
		must(err)
		card, err := devs.CreateEthernetCard("vmxnet3", b)
		must(err)
		card.GetVirtualDevice().Key = int32(-300 - i)
		chg = append(chg, &types.VirtualDeviceConfigSpec{Operation: "add", Device: card})
		a := types.CustomizationAdapterMapping{Adapter: types.CustomizationIPSettings{Ip: &types.CustomizationDhcpIpGenerator{}}}
		if i < len(ipl) && ipl[i] != "" {
			a.Adapter.Ip = &types.CustomizationFixedIp{IpAddress: ipl[i]}
		}
		nicMap = append(nicMap, a)
	}
	spec.DeviceChange = chg
	task, err := vmf.CreateVM(ctx, spec, pool, h)
	must(err)
	info, err := task.WaitForResult(ctx, nil)
	must(err)
	vm := object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference))
	if *ips != "" {
		t, err := vm.Customize(ctx, types.CustomizationSpec{NicSettingMap: nicMap,
			Identity: &types.CustomizationLinuxPrep{HostName: &types.CustomizationFixedName{Name: "h"}}})
		must(err)
		must(t.Wait(ctx))
	}
	for _, s := range strings.Split(*snaps, ",") {
		if s != "" {
			snapshot(vm, s)
		}
	}
	if *on {
		t, err := vm.PowerOn(ctx)
		must(err)
		must(t.Wait(ctx))
	}
	fmt.Println(vm.Reference().Value)
}

func snapshot(vm *object.VirtualMachine, s string) string {
	t, err := vm.CreateSnapshot(ctx, s, "made by the test", false, false)
	must(err)
	info, err := t.WaitForResult(ctx, nil)
	must(err)
	return info.Result.(types.ManagedObjectReference).Value
}

func findVM(c *govmomi.Client, name string) *object.VirtualMachine {
	f := find.NewFinder(c.Client, true)
	dcs, err := f.DatacenterList(ctx, "*")
	must(err)
	for _, dc := range dcs {
		f.SetDatacenter(dc)
		if l, err := f.VirtualMachineList(ctx, dc.InventoryPath+"/vm/..."); err == nil {
			for _, v := range l {
				if path.Base(v.InventoryPath) == name {
					return v
				}
			}
		}
	}
	must(fmt.Errorf("no VM %q", name))
	return nil
}

func terminate(c *govmomi.Client) {
	var sm mo.SessionManager
	pc := property.DefaultCollector(c.Client)
	must(pc.RetrieveOne(ctx, *c.ServiceContent.SessionManager, []string{"sessionList", "currentSession"}, &sm))
	var ids []string
	for _, s := range sm.SessionList {
		if sm.CurrentSession == nil || s.Key != sm.CurrentSession.Key {
			ids = append(ids, s.Key)
		}
	}
	if len(ids) > 0 {
		must(c.SessionManager.TerminateSession(ctx, ids))
	}
	fmt.Println(len(ids))
}

func main() {
	if len(os.Args) < 2 {
		must(fmt.Errorf("usage: vcsim-ctl dump|datastores|add-nas|create-vm|power|snapshot|folder|terminate-sessions"))
	}
	c := connect()
	defer c.Logout(ctx)
	a := os.Args[2:]
	switch os.Args[1] {
	case "dump":
		dump(c, a)
	case "datastores":
		datastores(c)
	case "add-nas":
		addNas(c, a[0], a[1], a[2])
	case "create-vm":
		createVM(c, a[0], a[1:])
	case "power":
		vm := findVM(c, a[0])
		var t *object.Task
		var err error
		switch a[1] {
		case "on":
			t, err = vm.PowerOn(ctx)
		case "shutdown":
			must(vm.ShutdownGuest(ctx))
			return
		default:
			t, err = vm.PowerOff(ctx)
		}
		must(err)
		must(t.Wait(ctx))
	case "snapshot":
		fmt.Println(snapshot(findVM(c, a[0]), a[1]))
	case "folder":
		_, _, dc := firstHost(c)
		dcf, err := dc.Folders(ctx)
		must(err)
		_, err = dcf.VmFolder.CreateFolder(ctx, a[0])
		must(err)
	case "terminate-sessions":
		terminate(c)
	default:
		must(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
