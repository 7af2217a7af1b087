package mlops

import (
	"encoding/json"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
)

// leakLimitKiB is the RSS growth over 10k calls above which a leak test fails.
const leakLimitKiB = 4096

// openStore opens a fresh store file in a temporary directory, closed at the end.
func openStore(t *testing.T, config string) *Handle {
	t.Helper()
	h, err := Open(filepath.Join(t.TempDir(), "store.db"), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// asMap(t)(h.Call(...)) parses a JSON object result (or fails the test).
func asMap(t *testing.T) func(string, error) map[string]interface{} {
	return func(text string, err error) map[string]interface{} {
		t.Helper()
		return decode(t, text, err)
	}
}

// asList(t)(h.Call(...)) parses a JSON array result (or fails the test).
func asList(t *testing.T) func(string, error) []interface{} {
	return func(text string, err error) []interface{} {
		t.Helper()
		return decodeList(t, text, err)
	}
}

// decode parses a JSON result into a map (or fails the test).
func decode(t *testing.T, text string, err error) map[string]interface{} {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if e := json.Unmarshal([]byte(text), &m); e != nil {
		t.Fatalf("not a JSON object: %v: %s", e, text)
	}
	return m
}

func decodeList(t *testing.T, text string, err error) []interface{} {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var l []interface{}
	if e := json.Unmarshal([]byte(text), &l); e != nil {
		t.Fatalf("not a JSON array: %v: %s", e, text)
	}
	return l
}

func mustJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// assertNoLeak runs fn after a warm-up and fails if the RSS grew by more than the limit.
func assertNoLeak(t *testing.T, calls int, fn func()) {
	t.Helper()
	for i := 0; i < calls/10; i++ {
		fn()
	}
	// Go garbage is not a leak: collect it and return it to the OS before each reading,
	// so that what remains is memory the C side kept.
	debug.FreeOSMemory()
	before := rssKiB(t)
	for i := 0; i < calls; i++ {
		fn()
	}
	debug.FreeOSMemory()
	growth := rssKiB(t) - before
	t.Logf("RSS growth over %d calls: %d KiB", calls, growth)
	if growth > leakLimitKiB {
		t.Fatalf("RSS grew by %d KiB over %d calls", growth, calls)
	}
}

// runGoroutines runs work(i) in n goroutines and reports every failure.
func runGoroutines(t *testing.T, n int, work func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := work(i); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
