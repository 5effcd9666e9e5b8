// A tiny web app to try nsreload run on: edit the answer below, save, and
// curl again. nsreload rebuilds it and restarts it in a fresh box.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, "hello from nsreload example v1")
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := "127.0.0.1:" + port
	http.HandleFunc("/", hello)
	log.Printf("listening on http://%s/", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
