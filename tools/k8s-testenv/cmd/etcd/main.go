// Command etcd runs a single-member etcd (go.etcd.io/etcd/server/v3/embed, at the version
// k8s.io/apiserver requires) on 127.0.0.1 for a throw-away kube-apiserver.
//
//	etcd -data-dir DIR [-client-port 2379] [-peer-port 2380]
//
// It exits non-zero if etcd fails to become ready within -ready-timeout, and stops cleanly
// on SIGINT/SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "etcd data directory (required)")
	clientPort := flag.Int("client-port", 2379, "client port on 127.0.0.1")
	peerPort := flag.Int("peer-port", 2380, "peer port on 127.0.0.1")
	readyTimeout := flag.Duration("ready-timeout", 60*time.Second, "how long to wait for etcd to become ready")
	logLevel := flag.String("log-level", "warn", "etcd log level (debug, info, warn, error)")
	flag.Parse()
	if *dataDir == "" && flag.NArg() == 1 {
		*dataDir = flag.Arg(0) // also accept the data dir as the only positional argument
	}
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "usage: etcd -data-dir DIR [-client-port N] [-peer-port N]")
		os.Exit(2)
	}

	mustURL := func(s string) url.URL {
		u, err := url.Parse(s)
		if err != nil {
			log.Fatalf("bad url %q: %v", s, err)
		}
		return *u
	}
	clientURL := mustURL(fmt.Sprintf("http://127.0.0.1:%d", *clientPort))
	peerURL := mustURL(fmt.Sprintf("http://127.0.0.1:%d", *peerPort))

	cfg := embed.NewConfig()
	cfg.Name = "k8s-testenv"
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, peerURL.String())
	cfg.LogLevel = *logLevel
	cfg.LogOutputs = []string{"stderr"}
	// Test instance: no fsync-heavy tuning needed, keep the WAL/snapshots small.
	cfg.SnapshotCount = 10000
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: start: %v", err)
	}
	defer e.Close()

	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd ready on %s (data dir %s)", clientURL.String(), *dataDir)
	case <-time.After(*readyTimeout):
		e.Server.Stop()
		log.Fatalf("etcd: not ready after %s", *readyTimeout)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Printf("etcd: %s, shutting down", s)
	case err := <-e.Err():
		log.Fatalf("etcd: %v", err)
	}
}
