package mlops

import (
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func cacheReq(prompt string) string {
	return mustJSON(map[string]interface{}{"model": "gpt-x", "messages": []interface{}{
		map[string]string{"role": "user", "content": prompt}}})
}

// bagOfWords is a tiny deterministic embedder: hashed word counts into out.
func bagOfWords(text string, out []float32) int {
	for i := range out {
		out[i] = 0
	}
	for _, w := range strings.Fields(strings.ToLower(text)) {
		f := fnv.New32a()
		f.Write([]byte(w))
		out[int(f.Sum32())%len(out)]++
	}
	out[0] += 0.01
	return 0
}

func TestCacheExactSemanticFeedback(t *testing.T) {
	h := openStore(t, "")
	if m := asMap(t)(h.CacheLookup(cacheReq("What is the capital of France?"), "")); m["hit"] != nil {
		t.Fatalf("miss: %v", m)
	}
	id, err := h.CachePut(cacheReq("What is the capital of France?"), `{"answer": "Paris"}`, "")
	if err != nil {
		t.Fatal(err)
	}
	hit := asMap(t)(h.CacheLookup(cacheReq("What is the capital of France?"), ""))
	if hit["hit"] != "exact" || int64(hit["entry_id"].(float64)) != id || mustJSON(hit["response"]) != `{"answer":"Paris"}` {
		t.Fatalf("exact: %v", hit)
	}
	h.CachePut(cacheReq("how do I reset my password"), `{"a": "click reset"}`, "")
	if s := asMap(t)(h.CacheLookup(cacheReq("how do I reset my password please"), "")); s["hit"] != "semantic" {
		t.Fatalf("semantic: %v", s)
	}
	if err := h.CacheFeedback(id, `{"verdict": "wrong"}`); err != nil {
		t.Fatal(err)
	}
	if m := asMap(t)(h.CacheLookup(cacheReq("What is the capital of France?"), "")); m["hit"] != nil {
		t.Fatalf("a wrong entry was served: %v", m)
	}
	if n, err := h.CacheInvalidate(`{"all": true}`); err != nil || n != 1 {
		t.Fatalf("invalidate: %d %v", n, err)
	}
	if err := h.CacheFlush(); err != nil {
		t.Fatal(err)
	}
	if st := asMap(t)(h.CacheStats()); st["wrong_reports"].(float64) != 1 {
		t.Fatalf("stats: %v", st)
	}
	if _, err := h.CacheLookup("{nope", ""); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
	if err := h.CacheSetEmbedder("x", 32, bagOfWords); !errors.Is(err, ErrState) {
		t.Fatalf("want ErrState (embedder is hashed), got %v", err)
	}
	if err := h.CacheFeedback(424242, `{"verdict": "wrong"}`); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestCacheGoEmbedderAndGuard(t *testing.T) {
	h, err := Open(filepath.Join(t.TempDir(), "cb.db"), `{"cache": {"embedder": "callback"}}`)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var mu sync.Mutex
	embedded := map[string]bool{}
	embed := func(text string, out []float32) int {
		mu.Lock()
		embedded[text] = true
		mu.Unlock()
		return bagOfWords(text, out)
	}
	if err := h.CacheSetEmbedder("bow-32", 32, embed); err != nil {
		t.Fatal(err)
	}
	h.CachePut(cacheReq("how do I reset my password"), `{"a": 1}`, "")
	if s := asMap(t)(h.CacheLookup(cacheReq("how do I reset my password please"), "")); s["hit"] != "semantic" {
		t.Fatalf("semantic with a Go embedder: %v", s)
	}
	mu.Lock()
	called := embedded["how do I reset my password please"]
	mu.Unlock()
	if !called {
		t.Fatal("the Go embedder was not called")
	}
	var seen [2]string
	if err := h.CacheSetGuard(func(query, cached string) int {
		mu.Lock() // called from library threads
		seen = [2]string{query, cached}
		mu.Unlock()
		return 1
	}); err != nil {
		t.Fatal(err)
	}
	if m := asMap(t)(h.CacheLookup(cacheReq("how do I reset my password please"), "")); m["hit"] != nil {
		t.Fatalf("the guard should have rejected: %v", m)
	}
	mu.Lock()
	got := seen
	mu.Unlock()
	if got != [2]string{"how do I reset my password please", "how do I reset my password"} {
		t.Fatalf("guard saw %q", got)
	}
	h.CacheSetGuard(nil)
	if err := h.CacheSetEmbedder("bow-32", 32, func(string, []float32) int { return 1 }); !errors.Is(err, ErrCanceled) {
		t.Fatalf("a refusing embedder: %v", err)
	}
	if err := h.CacheSetEmbedder("bow-32", 32, embed); err != nil {
		t.Fatal(err)
	}
	// Goroutines looking up at once call the Go embedder from library threads.
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 20; k++ {
			q := cacheReq(fmt.Sprintf("question %d %d", i, k))
			if _, err := h.CachePut(q, fmt.Sprintf(`{"i": %d, "k": %d}`, i, k), ""); err != nil {
				return err
			}
			got, err := h.CacheLookup(q, "")
			if err != nil || !strings.Contains(got, fmt.Sprintf(`{"i":%d,"k":%d}`, i, k)) {
				return fmt.Errorf("lookup: %v %s", err, got)
			}
		}
		return nil
	})
}

func TestCacheGoroutinesShareAHandle(t *testing.T) {
	h := openStore(t, "")
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 50; k++ {
			q := cacheReq(fmt.Sprintf("t%d q%d", i, k))
			if _, err := h.CachePut(q, fmt.Sprintf(`{"v": %d}`, k), ""); err != nil {
				return err
			}
			if got, err := h.CacheLookup(q, ""); err != nil || !strings.Contains(got, `"hit":"exact"`) {
				return fmt.Errorf("lookup: %v %s", err, got)
			}
		}
		return nil
	})
	if st := asMap(t)(h.CacheStats()); st["puts"].(float64) != 400 {
		t.Fatalf("stats: %v", st)
	}
}

func TestCacheNoLeakOver10kCalls(t *testing.T) {
	h := openStore(t, "")
	h.CachePut(cacheReq("cached question"), `{"a": 1}`, "")
	assertNoLeak(t, 10000, func() {
		if _, err := h.CacheLookup(cacheReq("cached question"), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := h.CacheLookup(cacheReq("a question nobody asked"), ""); err != nil {
			t.Fatal(err)
		}
	})
}
