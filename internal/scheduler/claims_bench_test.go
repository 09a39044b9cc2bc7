package scheduler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// BenchmarkCreateVolumeWithClaims is the end-to-end placement rate of one scheduler on
// MariaDB, without storage: CreateVolume as the RPC handler runs it — read the volume, list
// the services, run the default pipeline over 100 pools, claim the capacity and record the
// host in one transaction, cast (on the in-process bus, to a consumer that records it) — from 64 goroutines, as the
// scheduler's consumers run it. The database is SCORIA_TEST_MYSQL_URL (default
// mysql+pymysql://root:@127.0.0.1:3306/); a database of its own is made and dropped.
//
//	go test -run '^$' -bench CreateVolumeWithClaims -benchtime 20000x ./internal/scheduler
func BenchmarkCreateVolumeWithClaims(b *testing.B) {
	ctx := context.Background()
	st := benchStore(b)
	const pools = 100
	var hosts []string
	for i := range pools / 10 {
		hosts = append(hosts, fmt.Sprintf("bench%d@lvm", i))
	}
	q := newVolumeQueues(b, hosts...)
	s := &Scheduler{Store: st, Log: logrus.New(), ServiceDownTime: time.Hour, Transport: q.bus}
	s.Log.(*logrus.Logger).SetLevel(logrus.WarnLevel)
	for _, host := range hosts {
		if _, err := st.RegisterService(ctx, &resource.Service{Binary: resource.BinaryVolume, Host: host, Topic: rpc.TopicVolume, AvailabilityZone: "nova"}); err != nil {
			b.Fatal(err)
		}
		rep := report(host, "nova")
		for j := range 10 {
			rep.Stats.Pools = append(rep.Stats.Pools, pool(fmt.Sprintf("p%d", j), 1e9, 1e9, 0, false, ""))
		}
		s.recordPools(ctx, rep)
		s.UpdateCapabilities(rep)
	}
	ids := make([]string, b.N)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += 32 {
				v := &resource.Volume{ProjectID: "bench", UserID: "bench", Size: 1, Status: resource.StatusCreating,
					AttachStatus: resource.AttachDetached, AvailabilityZone: "nova", Metadata: map[string]string{}}
				if _, err := st.CreateVolume(ctx, v); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				ids[i] = v.ID
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // about 64 goroutines

	var next sync.Mutex
	i := 0
	began := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			id := ids[i]
			i++
			next.Unlock()
			if err := s.CreateVolume(ctx, rpcapi.CreateVolumeArgs{VolumeID: id, Size: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "placements/s")
	// Every volume was placed, and the claims add up.
	list, err := st.ListPools(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var claimed int64
	for _, p := range list {
		claimed += p.AllocatedGB
	}
	if claimed != int64(b.N) {
		b.Errorf("%d GiB claimed, want %d", claimed, b.N)
	}
	if got := q.casts(b, b.N); len(got) != b.N {
		b.Errorf("%d create_volume casts reached the volume services, want %d", len(got), b.N)
	}
}

// benchStore is a migrated store on a database of its own on the MariaDB test server; the
// benchmark is skipped when there is none.
func benchStore(b *testing.B) *db.Store {
	b.Helper()
	raw := os.Getenv("SCORIA_TEST_MYSQL_URL")
	if raw == "" {
		raw = "mysql+pymysql://root:@127.0.0.1:3306/"
	}
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Close() })
	if err := admin.Ping(); err != nil {
		b.Skipf("MariaDB at %s unreachable: %v", u.Host, err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "scoria_bench_" + hex.EncodeToString(suffix)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name) })
	u.Path = "/" + name
	st, err := db.Open(context.Background(), u.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st
}
