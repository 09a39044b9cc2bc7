package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/reqctx"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// TestRecoverUnplacedCreates: at start the scheduler schedules again every volume the API
// accepted that is still creating without a host and whose create_volume is no longer in the
// outbox (lost with a process); one whose message is still pending, one already placed and
// one that failed are left alone. Over the real in-process bus with the scheduler's own
// handler: the lost one ends placed.
func TestRecoverUnplacedCreates(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	st := newTestStore(t)
	st.register(svc("a@f", now, false))
	bus := rpc.NewLocal(logrus.New())
	t.Cleanup(func() { bus.Close() })
	s := &Scheduler{Store: st, Transport: bus, Log: logrus.New(), ServiceDownTime: time.Minute}
	reportTo(t, s, report("a@f", "nova", pool("p", 100, 90, 0, false, "")))

	lost := st.volume(resource.Volume{ID: "11111111-0000-4000-8000-000000000001", Size: 1, Status: resource.StatusCreating})
	failed := st.volume(resource.Volume{ID: "11111111-0000-4000-8000-000000000003", Size: 1, Status: resource.StatusError})
	placed := st.volume(resource.Volume{ID: "11111111-0000-4000-8000-000000000004", Size: 1, Status: resource.StatusCreating})
	if res, err := st.ClaimPlacement(ctx, resource.Claim{VolumeID: placed.ID, Pool: "a@f#p", Size: 1}); err != nil || !res.Claimed {
		t.Fatalf("place %s: %+v %v", placed.ID, res, err)
	}
	queued := &resource.Volume{ID: "11111111-0000-4000-8000-000000000002", ProjectID: "proj", UserID: "user", Size: 1,
		Status: resource.StatusCreating, AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Metadata: map[string]string{}}
	msg, err := rpcapi.Outbox(reqctx.Context{RequestID: reqctx.NewRequestID()}, rpcapi.SchedulerTarget(), rpcapi.CreateVolume,
		rpcapi.CreateVolumeArgs{VolumeID: queued.ID, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateVolume(ctx, queued, msg); err != nil {
		t.Fatal(err)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go bus.Serve(sctx, rpcapi.SchedulerTarget(), s.Handle)
	n, err := s.Recover(ctx, st.Store, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("Recover sent %d creates again, want 1 (only %s)", n, lost.ID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, host := st.status(lost.ID)
		if host == "a@f#p" && status == resource.StatusCreating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lost create was not placed: %s on %q", status, host)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status, host := st.status(queued.ID); status != resource.StatusCreating || host != "" {
		t.Errorf("the create still in the outbox was scheduled by the recovery: %s on %q", status, host)
	}
	if status, host := st.status(failed.ID); status != resource.StatusError || host != "" {
		t.Errorf("the failed volume changed: %s on %q", status, host)
	}
	if got := st.allocated("a@f#p"); got != 2 {
		t.Errorf("a@f#p holds %d GiB of claims, want 2 (placed + recovered, each once)", got)
	}
}
