// Command scoria-load puts load on a Block Storage v3 (Cinder) endpoint with noauth and prints
// create→available, GET and delete→gone throughput and latency, and with -attach those of
// attach (POST /attachments with a connector, then os-complete) and detach (DELETE):
//
//	scoria-load -endpoint http://127.0.0.1:8776/v3 -project demo -n 1000 -c 20 -size 1 -gets 20000
//	scoria-load -endpoint http://127.0.0.1:8776/v3 -n 100 -c 10 -gets -1 -attach
//
// It detaches and deletes every volume it created before it exits, and stops after -max-time at the latest.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scoria/scoria/test/load"
)

func main() {
	var cfg load.Config
	flag.StringVar(&cfg.Endpoint, "endpoint", "http://127.0.0.1:8776/v3", "Block Storage v3 endpoint")
	flag.StringVar(&cfg.Project, "project", "demo", "project id (the noauth token is project:project)")
	flag.IntVar(&cfg.N, "n", 1000, "volumes to create")
	flag.IntVar(&cfg.C, "c", 20, "concurrent clients")
	flag.IntVar(&cfg.Size, "size", 1, "size of each volume in GiB")
	flag.IntVar(&cfg.Gets, "gets", 20000, "GET /volumes/{id} requests in the read phase (-1 skips it)")
	flag.StringVar(&cfg.Wait, "wait", load.WaitList, "how the end of a create/delete is seen: list (one poller lists the volumes in creating/deleting) or get (every client polls its volume)")
	flag.DurationVar(&cfg.Poll, "poll", 10*time.Millisecond, "interval between status polls")
	flag.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "longest wait for one volume to become available or gone")
	flag.BoolVar(&cfg.Attach, "attach", false, "attach every available volume through the attachments API (POST /attachments with a connector, os-complete) and detach it (DELETE /attachments/{id}) before the deletes")
	maxTime := flag.Duration("max-time", 30*time.Minute, "stop the create and GET phases after this long (deletes still run)")
	flag.Parse()
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxTime)
	defer cancel()
	res, err := load.Run(ctx, cfg)
	if res != nil {
		fmt.Println()
		res.WriteTable(os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "scoria-load: %v\n", err)
		os.Exit(1)
	}
	if res.Errors() > 0 {
		os.Exit(1)
	}
}
