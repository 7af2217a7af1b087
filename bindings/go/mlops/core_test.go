package mlops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenInfoClose(t *testing.T) {
	dir := t.TempDir()
	h, err := Open(filepath.Join(dir, "store.db"), `{"threads": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	info, err := h.Info()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, `"core":1`) || !strings.Contains(info, `"journal_mode":"wal"`) {
		t.Fatalf("unexpected info %s", info)
	}
	h.Close()
	h.Close() // idempotent
	if _, err := h.Info(); err == nil {
		t.Fatal("Info on a closed handle succeeded")
	}
	if Version() != "0.1.0" || VersionNumber() != MLOPS_VERSION_MAJOR*10000+MLOPS_VERSION_MINOR*100+MLOPS_VERSION_PATCH {
		t.Fatalf("version %s %d", Version(), VersionNumber())
	}
}

func TestErrorsWrapStatusCodes(t *testing.T) {
	_, err := Open(":memory:", `{"thredas": 2}`)
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("want ErrConfig, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != MLOPS_ECONFIG || !strings.Contains(e.Message, "thredas") {
		t.Fatalf("bad error %#v", err)
	}
	if _, err := Open(t.TempDir(), ""); !errors.Is(err, ErrIO) {
		t.Fatalf("want ErrIO for a directory, got %v", err)
	}
	if _, err := Open("", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	bad := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(bad, []byte(strings.Repeat("x", 4096)), 0o644)
	if _, err := Open(bad, ""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want ErrCorrupt, got %v", err)
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatal("errors.Is matched the wrong code")
	}
}

func TestLogCallbackLifecycle(t *testing.T) {
	h, err := Open(":memory:", `{"log_level": "debug"}`)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	lines := 0
	if err := h.SetLogCallback(func(level int, message string) { mu.Lock(); lines++; mu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	if err := h.SetLogCallback(nil); err != nil {
		t.Fatal(err)
	}
	if err := h.SetLogCallback(func(level int, message string) {}); err != nil {
		t.Fatal(err)
	}
	h.Close()
}

func TestGoroutinesShareAHandle(t *testing.T) {
	h, err := Open(filepath.Join(t.TempDir(), "s.db"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				if _, err := h.Info(); err != nil {
					errs <- err
					return
				}
				if _, err := Open(":memory:", `{"bad": 1}`); !errors.Is(err, ErrConfig) ||
					!strings.Contains(err.Error(), "'bad'") {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func rssKiB(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc")
	}
	var size, rss int
	for i, f := range strings.Fields(string(data))[:2] {
		n := 0
		for _, c := range f {
			n = n*10 + int(c-'0')
		}
		if i == 0 {
			size = n
		} else {
			rss = n
		}
	}
	_ = size
	return rss * os.Getpagesize() / 1024
}

func TestNoLeakOver10kCalls(t *testing.T) {
	h, err := Open(":memory:", "")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	assertNoLeak(t, 10000, func() {
		if _, err := h.Info(); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(":memory:", `{"bad": 1}`); !errors.Is(err, ErrConfig) {
			t.Fatal(err)
		}
	})
}
