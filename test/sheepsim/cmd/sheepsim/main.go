// Command sheepsim runs the protocol-level sheep SIMULATOR (a TEST STAND-IN for a Sheepdog
// sheep, package test/sheepsim) for end-to-end and tgtd tests. It prints "listening on ADDR"
// once it accepts connections and serves until SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/scoria/scoria/test/sheepsim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7000", "listen address (tgt's bs_sheepdog reaches ports ≤ 9999 only)")
	unformatted := flag.Bool("unformatted", false, "start waiting for a format (MAKE_FS), like a fresh sheep")
	verbose := flag.Bool("v", false, "log what a real sheep would log")
	flag.Parse()

	opts := sheepsim.Options{Addr: *addr, Unformatted: *unformatted}
	if *verbose {
		l := log.New(os.Stderr, "sheepsim: ", log.LstdFlags)
		opts.Logf = l.Printf
	}
	srv, err := sheepsim.Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", srv.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
