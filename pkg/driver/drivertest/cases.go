package drivertest

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/scoria/scoria/pkg/driver"
)

// testSetup: Setup again, on a set-up backend, succeeds (every volume service start calls it).
func (r *runner) testSetup(t *testing.T) {
	for i := range 2 {
		if err := r.d.Setup(r.ctx(t)); err != nil {
			t.Fatalf("Setup #%d on a set-up backend: %v", i+2, err)
		}
	}
}

// testCreate: the backend holds exactly the size asked; a second Create (a redelivered
// message) succeeds and changes nothing; Exists tells made from never made.
func (r *runner) testCreate(t *testing.T) {
	v := r.create(t, 1)
	r.checkSize(t, v, 1)
	if !r.exists(t, v) {
		t.Fatalf("Exists %s = false after Create", v.ID)
	}
	again, err := r.d.Create(r.ctx(t), v)
	if err != nil {
		t.Fatalf("Create again (a redelivery): %v", err)
	}
	if !again.IsZero() && again != v.Data {
		t.Errorf("Create again returned data %+v, the first %+v: a redelivered create must find the volume it made and say the same", again, v.Data)
	}
	r.checkSize(t, v, 1)
	if r.exists(t, volume(1)) {
		t.Error("Exists of a volume never created = true")
	}
}

// testDelete: a volume is gone after Delete; Delete again and Delete of a volume never
// created succeed.
func (r *runner) testDelete(t *testing.T) {
	v := r.create(t, 1)
	for i := range 2 {
		if err := r.d.Delete(r.ctx(t), v); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if r.exists(t, v) {
		t.Fatalf("Exists %s = true after Delete", v.ID)
	}
	if err := r.d.Delete(r.ctx(t), volume(1)); err != nil {
		t.Errorf("Delete of a volume never created: %v", err)
	}
}

// testExtend: the backend holds the new size; extending to the size it has is no error.
func (r *runner) testExtend(t *testing.T) {
	ext := need[driver.Extender](t, r.d, "Extender")
	v := r.create(t, 1)
	for i := range 2 { // the second finds the size reached: a redelivery
		if err := ext.ExtendVolume(r.ctx(t), v, 2); err != nil {
			t.Fatalf("ExtendVolume to 2 GiB #%d: %v", i+1, err)
		}
		r.checkSize(t, v, 2)
	}
}

// testSnapshot: CreateSnapshot twice, SnapshotExists, DeleteSnapshot twice, and delete of a
// snapshot never taken.
func (r *runner) testSnapshot(t *testing.T) {
	sn := need[driver.Snapshotter](t, r.d, "Snapshotter")
	v := r.create(t, 1)
	s := r.takeSnapshot(t, sn, &v)
	again, err := sn.CreateSnapshot(r.ctx(t), s, v)
	if err != nil {
		t.Fatalf("CreateSnapshot again (a redelivery): %v", err)
	}
	if !again.IsZero() && again != s.Data {
		t.Errorf("CreateSnapshot again returned data %+v, the first %+v", again, s.Data)
	}
	if !r.snapshotExists(t, sn, s) {
		t.Fatal("SnapshotExists = false after CreateSnapshot")
	}
	if r.snapshotExists(t, sn, snapshot(v)) {
		t.Error("SnapshotExists of a snapshot never taken = true")
	}
	for i := range 2 {
		if err := sn.DeleteSnapshot(r.ctx(t), s, v); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
		}
	}
	if r.snapshotExists(t, sn, s) {
		t.Error("SnapshotExists = true after DeleteSnapshot")
	}
	if err := sn.DeleteSnapshot(r.ctx(t), snapshot(v), v); err != nil {
		t.Errorf("DeleteSnapshot of a snapshot never taken: %v", err)
	}
	if !r.exists(t, v) {
		t.Error("the volume is gone after its snapshot's delete")
	}
}

// testVolumeFromSnapshot: volumes made from a snapshot, of its size and larger, have the
// size asked and the data of the snapshot's moment, not what was written after.
func (r *runner) testVolumeFromSnapshot(t *testing.T) {
	sn := need[driver.Snapshotter](t, r.d, "Snapshotter")
	rs := need[driver.SnapshotRestorer](t, r.d, "SnapshotRestorer")
	data := r.s.Probe.ReadAt != nil
	v := r.create(t, 1)
	if data {
		r.write(t, v, 'a')
	}
	s := r.takeSnapshot(t, sn, &v)
	if data {
		r.write(t, v, 'b')
	}
	for _, gib := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dGiB", gib), func(t *testing.T) {
			n := volume(gib)
			r.removeVolume(t, &n)
			for i := range 2 { // the second is a redelivery
				d, err := rs.CreateVolumeFromSnapshot(r.ctx(t), n, s)
				if err != nil {
					t.Fatalf("CreateVolumeFromSnapshot #%d: %v", i+1, err)
				}
				if i == 0 {
					n.Data = keepable(t, "CreateVolumeFromSnapshot", d)
				}
			}
			r.checkSize(t, n, gib)
			if !r.exists(t, n) {
				t.Fatal("Exists = false for a volume made from a snapshot")
			}
			if data {
				r.checkData(t, n, 'a', "volume from snapshot")
			}
		})
	}
	if data {
		r.checkData(t, v, 'b', "the snapshot's volume")
	}
}

// testClone: a clone, larger than its source, has the size asked and the source's data;
// writes to either afterwards do not reach the other.
func (r *runner) testClone(t *testing.T) {
	cl := need[driver.Cloner](t, r.d, "Cloner")
	data := r.s.Probe.ReadAt != nil
	src := r.create(t, 1)
	if data {
		r.write(t, src, 'a')
	}
	c := volume(2)
	r.removeVolume(t, &c)
	for i := range 2 {
		d, err := cl.CreateClonedVolume(r.ctx(t), c, src)
		if err != nil {
			t.Fatalf("CreateClonedVolume #%d: %v", i+1, err)
		}
		if i == 0 {
			c.Data = keepable(t, "CreateClonedVolume", d)
		}
	}
	r.checkSize(t, c, 2)
	r.checkSize(t, src, 1)
	if !data {
		return
	}
	r.checkData(t, c, 'a', "clone")
	r.write(t, src, 'b')
	r.checkData(t, c, 'a', "clone after its source changed")
	r.write(t, c, 'c')
	r.checkData(t, src, 'b', "source after its clone changed")
}

// testRevert: after a revert the volume holds the snapshot's data again, keeps the size it
// was extended to, and the snapshot stays.
func (r *runner) testRevert(t *testing.T) {
	sn := need[driver.Snapshotter](t, r.d, "Snapshotter")
	rv := need[driver.Reverter](t, r.d, "Reverter")
	data := r.s.Probe.ReadAt != nil
	v := r.create(t, 1)
	if data {
		r.write(t, v, 'a')
	}
	s := r.takeSnapshot(t, sn, &v)
	if data {
		r.write(t, v, 'b')
	}
	if ext, ok := r.d.(driver.Extender); ok {
		if err := ext.ExtendVolume(r.ctx(t), v, 2); err != nil {
			t.Fatalf("ExtendVolume: %v", err)
		}
		v.SizeGiB = 2
	}
	for i := range 2 {
		if err := rv.RevertToSnapshot(r.ctx(t), v, s); err != nil {
			t.Fatalf("RevertToSnapshot #%d: %v", i+1, err)
		}
	}
	r.checkSize(t, v, v.SizeGiB)
	if data {
		r.checkData(t, v, 'a', "reverted volume")
	}
	if !r.snapshotExists(t, sn, s) {
		t.Error("the snapshot is gone after a revert to it")
	}
}

// testCapacity: the capability report has named pools in Cinder's keys with sane figures.
func (r *runner) testCapacity(t *testing.T) {
	st, err := r.d.Stats(r.ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.StorageProtocol == "" || st.DriverVersion == "" || st.VendorName == "" {
		t.Errorf("storage_protocol %q, driver_version %q, vendor_name %q: all are needed", st.StorageProtocol, st.DriverVersion, st.VendorName)
	}
	if len(st.Pools) == 0 {
		t.Fatal("Stats reports no pool")
	}
	names := map[string]bool{}
	for _, p := range st.Pools {
		if p.Name == "" || strings.ContainsAny(p.Name, "#@") {
			t.Errorf("pool name %q: empty, or with '#' or '@' (which separate host@backend#pool)", p.Name)
		}
		if names[p.Name] {
			t.Errorf("pool %q reported twice", p.Name)
		}
		names[p.Name] = true
		r.checkPool(t, p)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Errorf("the report does not marshal: %v", err)
	}
}

func (r *runner) checkPool(t *testing.T, p driver.Pool) {
	t.Helper()
	total, free := p.TotalCapacityGB, p.FreeCapacityGB
	switch r.s.Capacity {
	case CapacityKnown:
		if !total.Known() || !free.Known() {
			t.Errorf("pool %s: total %s, free %s GiB; want numbers", p.Name, total, free)
		} else if total < 0 || free < 0 || free > total {
			t.Errorf("pool %s: total %s, free %s GiB; want 0 ≤ free ≤ total", p.Name, total, free)
		}
	case CapacityInfinite:
		if !total.IsInfinite() || !(free.IsInfinite() || free.Known() && free >= 0) {
			t.Errorf("pool %s: total %s, free %s; want infinite", p.Name, total, free)
		}
	case CapacityUnknown:
		if !total.IsUnknown() && !total.IsInfinite() {
			t.Errorf("pool %s: total %s; want unknown", p.Name, total)
		}
	}
	if p.ProvisionedCapacityGB < 0 || p.AllocatedCapacityGB < 0 {
		t.Errorf("pool %s: provisioned %v, allocated %v GiB; want ≥ 0", p.Name, p.ProvisionedCapacityGB, p.AllocatedCapacityGB)
	}
	if p.ReservedPercentage < 0 || p.ReservedPercentage > 100 {
		t.Errorf("pool %s: reserved_percentage %d", p.Name, p.ReservedPercentage)
	}
	if ratio := p.MaxOverSubscriptionRatio; ratio != "" && ratio != "auto" {
		if f, err := strconv.ParseFloat(ratio, 64); err != nil || f < 1 {
			t.Errorf("pool %s: max_over_subscription_ratio %q; want a number ≥ 1 or auto", p.Name, ratio)
		}
	}
	if !p.ThinProvisioningSupport && !p.ThickProvisioningSupport {
		t.Errorf("pool %s supports neither thin nor thick provisioning", p.Name)
	}
}

// testNotFound: operations whose source is missing fail with driver.ErrNotFound and leave
// no volume behind.
func (r *runner) testNotFound(t *testing.T) {
	type opCase struct {
		name  string
		iface string
		ok    bool
		run   func(t *testing.T, target driver.Volume) error
	}
	sn, hasSnap := r.d.(driver.Snapshotter)
	rs, hasRestore := r.d.(driver.SnapshotRestorer)
	cl, hasClone := r.d.(driver.Cloner)
	ext, hasExt := r.d.(driver.Extender)
	rv, hasRevert := r.d.(driver.Reverter)
	missing := volume(1)
	cases := []opCase{
		{"snapshot of a missing volume", "Snapshotter", hasSnap, func(t *testing.T, _ driver.Volume) error {
			s := snapshot(missing)
			r.removeSnapshot(t, sn, &s, &missing)
			_, err := sn.CreateSnapshot(r.ctx(t), s, missing)
			return err
		}},
		{"volume from a missing snapshot", "SnapshotRestorer", hasRestore, func(t *testing.T, target driver.Volume) error {
			src := r.create(t, 1)
			_, err := rs.CreateVolumeFromSnapshot(r.ctx(t), target, snapshot(src))
			return err
		}},
		{"volume from a snapshot of a missing volume", "SnapshotRestorer", hasRestore, func(t *testing.T, target driver.Volume) error {
			_, err := rs.CreateVolumeFromSnapshot(r.ctx(t), target, snapshot(missing))
			return err
		}},
		{"clone of a missing volume", "Cloner", hasClone, func(t *testing.T, target driver.Volume) error {
			_, err := cl.CreateClonedVolume(r.ctx(t), target, missing)
			return err
		}},
		{"extend of a missing volume", "Extender", hasExt, func(t *testing.T, _ driver.Volume) error {
			return ext.ExtendVolume(r.ctx(t), missing, 2)
		}},
		{"revert to a missing snapshot", "Reverter", hasRevert, func(t *testing.T, _ driver.Volume) error {
			v := r.create(t, 1)
			return rv.RevertToSnapshot(r.ctx(t), v, snapshot(v))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Skipf("the driver does not implement driver.%s", c.iface)
			}
			target := volume(1)
			r.removeVolume(t, &target)
			wantNotFound(t, c.name, c.run(t, target))
			if r.exists(t, target) {
				t.Errorf("%s left volume %s behind", c.name, target.ID)
			}
			if r.exists(t, missing) {
				t.Errorf("%s made the missing volume", c.name)
			}
		})
	}
}

// testConcurrent: Workers goroutines each create, snapshot (when the driver can and the
// Snapshot subtest is not skipped), delete the snapshot and delete their own volume at once.
// Run it with -race.
func (r *runner) testConcurrent(t *testing.T) {
	n := r.s.Workers
	if n <= 0 {
		n = 4
	}
	sn, snaps := r.d.(driver.Snapshotter)
	if _, skipped := r.s.Skip[TestSnapshot]; skipped {
		snaps = false
	}
	vols := make([]driver.Volume, n)
	for i := range vols {
		vols[i] = volume(1)
		r.removeVolume(t, &vols[i])
	}
	ctx := r.ctx(t)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range vols {
		wg.Add(1)
		go func(v *driver.Volume) {
			defer wg.Done()
			errs <- func() error {
				d, err := r.d.Create(ctx, *v)
				if err != nil {
					return fmt.Errorf("create %s: %w", v.ID, err)
				}
				v.Data = d
				if snaps {
					s := snapshot(*v)
					if s.Data, err = sn.CreateSnapshot(ctx, s, *v); err != nil {
						return fmt.Errorf("snapshot %s of %s: %w", s.ID, v.ID, err)
					}
					if ok, err := sn.SnapshotExists(ctx, s); err != nil || !ok {
						return fmt.Errorf("snapshot %s of %s: exists %v, %v", s.ID, v.ID, ok, err)
					}
					if err := sn.DeleteSnapshot(ctx, s, *v); err != nil {
						return fmt.Errorf("delete snapshot %s of %s: %w", s.ID, v.ID, err)
					}
				}
				if ok, err := r.d.Exists(ctx, *v); err != nil || !ok {
					return fmt.Errorf("volume %s: exists %v, %v after create", v.ID, ok, err)
				}
				if err := r.d.Delete(ctx, *v); err != nil {
					return fmt.Errorf("delete %s: %w", v.ID, err)
				}
				return nil
			}()
		}(&vols[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, v := range vols {
		if r.exists(t, v) {
			t.Errorf("volume %s exists after its delete", v.ID)
		}
	}
}

// requiredKeys are the keys of ConnectionInfo.Data os-brick's connector of each
// driver_volume_type needs; for iSCSI either the singular or the plural forms.
var requiredKeys = map[string][][]string{
	"rbd":   {{"name"}, {"hosts"}, {"ports"}, {"auth_enabled"}, {"auth_username"}, {"volume_id"}},
	"iscsi": {{"target_portal", "target_portals"}, {"target_iqn", "target_iqns"}, {"target_lun", "target_luns"}, {"volume_id"}},
	"local": {{"device_path"}},
	"nfs":   {{"export"}, {"name"}, {"format"}},
}

// testConnection: an Attacher's connection info has the protocol's keys and terminating it
// twice succeeds; a LocalDevice's device path exists with the volume's size.
func (r *runner) testConnection(t *testing.T) {
	at, isAttacher := r.d.(driver.Attacher)
	ld, isLocal := r.d.(driver.LocalDevice)
	tb, isBacked := r.d.(driver.TargetBacked)
	if !isAttacher && !isLocal && !isBacked {
		t.Skip("the driver implements none of driver.Attacher, driver.LocalDevice, driver.TargetBacked")
	}
	v := r.create(t, 1)
	if isBacked {
		t.Run("TargetBacked", func(t *testing.T) {
			b := tb.BackingStore(v)
			if b.Type == "" || b.Path == "" || !strings.Contains(b.Path, v.Name) {
				t.Errorf("BackingStore %+v: want a store type and a path naming %s", b, v.Name)
			}
		})
	}
	if isLocal {
		t.Run("LocalDevice", func(t *testing.T) {
			p := ld.DevicePath(v)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("DevicePath %s: %v", p, err)
			}
			got, err := DeviceProbe(ld).Size(r.ctx(t), v)
			if err != nil || got != driver.GiB {
				t.Errorf("DevicePath %s holds %d bytes (%v), want %d", p, got, err, driver.GiB)
			}
		})
	}
	if !isAttacher {
		return
	}
	t.Run("Attacher", func(t *testing.T) {
		c := driver.Connector{"host": "drivertest", "ip": "127.0.0.1", "initiator": "iqn.1993-08.org.debian:01:drivertest", "multipath": false}
		for i := range 2 {
			ci, err := at.InitializeConnection(r.ctx(t), v, c)
			if err != nil {
				t.Fatalf("InitializeConnection #%d: %v", i+1, err)
			}
			if r.s.Protocol != "" && ci.DriverVolumeType != r.s.Protocol {
				t.Errorf("driver_volume_type %q, want %q", ci.DriverVolumeType, r.s.Protocol)
			}
			for _, alts := range requiredKeys[ci.DriverVolumeType] {
				found := false
				for _, k := range alts {
					_, ok := ci.Data[k]
					found = found || ok
				}
				if !found {
					t.Errorf("%s connection info lacks %s: %v", ci.DriverVolumeType, strings.Join(alts, " or "), ci.Data)
				}
			}
			if id, ok := ci.Data["volume_id"]; ok && id != v.ID {
				t.Errorf("volume_id %v, want %s", id, v.ID)
			}
			if _, err := json.Marshal(ci); err != nil {
				t.Errorf("connection info does not marshal: %v", err)
			}
		}
		for i := range 2 {
			if err := at.TerminateConnection(r.ctx(t), v, c); err != nil {
				t.Fatalf("TerminateConnection #%d: %v", i+1, err)
			}
		}
	})
}

// testDriverData: the data every create returns comes back with each later call, as the
// volume service hands it back, through a whole life: volume, snapshot, volume from it,
// clone, deletes.
func (r *runner) testDriverData(t *testing.T) {
	v := r.create(t, 1)
	t.Logf("Create returned %+v", v.Data)
	if !r.exists(t, v) {
		t.Fatal("Exists with the volume's data = false")
	}
	sn, hasSnap := r.d.(driver.Snapshotter)
	if _, skipped := r.s.Skip[TestSnapshot]; skipped {
		hasSnap = false
	}
	var s driver.Snapshot
	if hasSnap {
		s = r.takeSnapshot(t, sn, &v)
		t.Logf("CreateSnapshot returned %+v", s.Data)
		if !r.snapshotExists(t, sn, s) {
			t.Fatal("SnapshotExists with the snapshot's data = false")
		}
		if rs, ok := r.d.(driver.SnapshotRestorer); ok && r.s.Skip[TestVolumeFromSnapshot] == "" {
			n := volume(1)
			r.removeVolume(t, &n)
			d, err := rs.CreateVolumeFromSnapshot(r.ctx(t), n, s)
			if err != nil {
				t.Fatalf("CreateVolumeFromSnapshot: %v", err)
			}
			n.Data = keepable(t, "CreateVolumeFromSnapshot", d)
			if !r.exists(t, n) {
				t.Error("Exists of the volume from the snapshot, with its data = false")
			}
		}
	}
	if cl, ok := r.d.(driver.Cloner); ok && r.s.Skip[TestClone] == "" {
		c := volume(1)
		r.removeVolume(t, &c)
		d, err := cl.CreateClonedVolume(r.ctx(t), c, v)
		if err != nil {
			t.Fatalf("CreateClonedVolume: %v", err)
		}
		c.Data = keepable(t, "CreateClonedVolume", d)
		if !r.exists(t, c) {
			t.Error("Exists of the clone, with its data = false")
		}
	}
}
