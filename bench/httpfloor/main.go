// Command httpfloor is the latency floor of a Go HTTP service on this machine:
// net/http answering every request with a constant body, no decoding, no
// model, no logging. scripts/http_floor.sh puts it under the same wrk command
// as `carvision serve`, so the tail that the kernel's scheduling of wrk and
// server on shared cores adds can be told apart from the tail our handler adds.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18097", "loopback listen address")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("httpfloor: --addr %q must be a loopback host:port", *addr)
	}
	// A response the size and shape of /predict's, so the write cost matches.
	body := []byte(`{"predicted_price":18558.67,"warnings":[],"model_version":"m-floor","request_id":"00000000-00000001","latency_ms":0.1}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
