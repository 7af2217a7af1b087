// quickstart: the Go tour of libmlops; it does what examples/quickstart.c does.
//
// It works on the embedded defaults: an SQLite file, no network, no keys.
//
//	go run ./quickstart [STORE_PATH]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"mlops/mlops"
)

// A step of the tour: each module's file registers one (step_<module>.go), so that the
// tour grows with the library; they run in the order of the pipeline's story.
type step struct {
	order int
	title string
	run   func(*mlops.Handle)
}

var steps []step

func register(order int, title string, run func(*mlops.Handle)) {
	steps = append(steps, step{order, title, run})
}

// check stops the tour on an error.
func check(step string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "quickstart: %s failed: %v\n", step, err)
		os.Exit(1)
	}
}

// object parses a JSON object result.
func object(text string, err error) map[string]interface{} {
	check("reading a result", err)
	var m map[string]interface{}
	check("parsing a result", json.Unmarshal([]byte(text), &m))
	return m
}

func main() {
	path := "quickstart.db"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	fmt.Printf("libmlops %s quickstart (Go)\n\n", mlops.Version())
	h, err := mlops.Open(path, `{"log_level": "warn"}`)
	check("Open", err)
	defer h.Close()
	info, err := h.Info()
	check("Info", err)
	fmt.Printf("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s\n", path, info)
	sort.Slice(steps, func(i, j int) bool { return steps[i].order < steps[j].order })
	for i, s := range steps {
		fmt.Printf("%d. %s\n", i+2, s.title)
		s.run(h)
	}
	fmt.Println("\ndone.")
}
