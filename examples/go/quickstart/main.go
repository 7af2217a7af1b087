// quickstart: the Go tour of libmlops; it does what examples/quickstart.c does.
//
//	go run ./quickstart [STORE_PATH]
package main

import (
	"fmt"
	"os"

	"mlops/mlops"
)

func main() {
	path := "quickstart.db"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	fmt.Printf("libmlops %s quickstart (Go)\n\n", mlops.Version())
	h, err := mlops.Open(path, `{"log_level": "warn"}`)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	defer h.Close()
	info, err := h.Info()
	if err != nil {
		fmt.Fprintln(os.Stderr, "info:", err)
		os.Exit(1)
	}
	fmt.Printf("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s\n", path, info)
	fmt.Println("\ndone.")
}
