// A tiny web app to try nsreload run on: edit the answer below, save, and
// curl again. nsreload rebuilds it and restarts it in a fresh box.
//
// With nsreload run --listen 8080 (socket hand-off, docs/run.md) it serves on
// the socket nsreload passes as fd 3, which stays open across restarts: no
// request fails while the app restarts. On SIGTERM it finishes the requests
// in flight before it exits.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "hello from nsreload example v1")
}

// Fixed-size bodies for scripts/bench-proxy.
func sized(n int) http.HandlerFunc {
	body := []byte(strings.Repeat("x", n))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body)
	}
}

// listener takes the socket nsreload (or systemd) passed as fd 3, if it was
// passed to this very process (LISTEN_PID), else listens on PORT itself.
func listener() (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") != "" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		f := os.NewFile(3, "listen")
		defer f.Close() // FileListener made its own copy
		return net.FileListener(f)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	return net.Listen("tcp", "127.0.0.1:"+port)
}

func main() {
	ln, err := listener()
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", hello)
	mux.HandleFunc("/1k", sized(1<<10))
	mux.HandleFunc("/1m", sized(1<<20))

	// Stopping: each connection gets one more answer, marked
	// "Connection: close", and closes after it. Closing an idle keep-alive
	// connection instead (what Shutdown does at once) races with a client
	// sending its next request on it: that request would fail.
	var draining atomic.Bool
	var open atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if draining.Load() {
				w.Header().Set("Connection", "close")
			}
			mux.ServeHTTP(w, r)
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}

	done := make(chan struct{})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		// Stop accepting: a passed socket stays open in nsreload, and what
		// arrives now waits in its backlog for the next run.
		draining.Store(true)
		ln.Close()
		// Up to 500 ms for the open connections to get their last answer;
		// then Shutdown closes the idle rest and waits for requests in flight.
		for t := 0; t < 50 && open.Load() > 0; t++ {
			time.Sleep(10 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("shutdown: %v", err)
		}
		close(done)
	}()

	log.Printf("listening on http://%s/", ln.Addr())
	if err := srv.Serve(ln); err != http.ErrServerClosed && !draining.Load() {
		log.Fatal(err)
	}
	<-done
}
