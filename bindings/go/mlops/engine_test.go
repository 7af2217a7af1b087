package mlops

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const tinyModel = `{"n_embd": 64, "n_layer": 1, "n_head": 2, "n_head_kv": 1, "n_ff": 128, "n_vocab": 400, "n_ctx": 256, "seed": 7}`

func synthModel(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := GGUFSynth(path, tinyModel); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEngineGGUF(t *testing.T) {
	path := synthModel(t)
	if info := asMap(t)(GGUFInfo(path)); info["metadata"].(map[string]interface{})["general.architecture"] != "llama" {
		t.Fatalf("info: %v", info)
	}
	q8 := filepath.Join(filepath.Dir(path), "q8.gguf")
	if err := GGUFQuantize(path, q8, "Q8_0"); err != nil {
		t.Fatal(err)
	}
	if err := GGUFQuantize(path, q8, "Q3_XYZ"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
}

func TestEngineModelSession(t *testing.T) {
	h := openStore(t, "")
	model, err := h.EngineLoad(synthModel(t), `{"threads": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Free()
	if info := asMap(t)(model.Info()); info["n_vocab"].(float64) != 400 {
		t.Fatalf("info: %v", info)
	}
	ids := make([]int32, 64)
	n, err := model.Tokenize("hello world", "", ids)
	if err != nil || n == 0 {
		t.Fatalf("tokenize: %d %v", n, err)
	}
	ids = ids[:n]
	// A buffer too small: ErrLimit, and n says how many are needed.
	small := make([]int32, 1)
	if need, err := model.Tokenize(strings.Repeat("hello world ", 20), "", small); !errors.Is(err, ErrLimit) || need <= 1 {
		t.Fatalf("small buffer: %d %v", need, err)
	}
	if text, err := model.Detokenize(ids, ""); err != nil || strings.TrimSpace(text) != "hello world" {
		t.Fatalf("detokenize: %q %v", text, err)
	}
	vec := make([]float32, 64)
	if n, err := model.Embed("hello", "", vec); err != nil || n != 64 {
		t.Fatalf("embed: %d %v", n, err)
	}
	norm := 0.0
	for _, x := range vec {
		norm += float64(x) * float64(x)
	}
	if math.Abs(math.Sqrt(norm)-1) > 1e-3 {
		t.Fatalf("embedding norm %f", math.Sqrt(norm))
	}
	session, err := model.SessionNew("")
	if err != nil {
		t.Fatal(err)
	}
	defer session.Free()
	logits := make([]float32, 400)
	if n, err := session.Logits(ids, "", logits); err != nil || n != 400 {
		t.Fatalf("logits: %d %v", n, err)
	}
	if err := session.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Detokenize([]int32{99999}, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	if _, err := EngineModelLoad(filepath.Join(t.TempDir(), "missing.gguf"), ""); !errors.Is(err, ErrIO) {
		t.Fatalf("want ErrIO, got %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	os.WriteFile(bad, append([]byte("GGUF"), make([]byte, 60)...), 0o644)
	if _, err := EngineModelLoad(bad, ""); !errors.Is(err, ErrFormat) {
		t.Fatalf("want ErrFormat, got %v", err)
	}
}

func TestEngineGenerateStreamsToGo(t *testing.T) {
	model, err := EngineModelLoad(synthModel(t), `{"threads": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Free()
	session, err := model.SessionNew("")
	if err != nil {
		t.Fatal(err)
	}
	defer session.Free()
	var pieces []string
	out := asMap(t)(session.Generate("Once upon a time", `{"max_tokens": 12, "seed": 1, "temperature": 0, "ignore_eos": true}`,
		func(piece string) int { pieces = append(pieces, piece); return 0 }))
	if out["completion_tokens"].(float64) != 12 || strings.Join(pieces, "") != out["text"] {
		t.Fatalf("generate: %v vs %q", out, pieces)
	}
	if again := asMap(t)(session.Generate("Once upon a time", `{"max_tokens": 12, "seed": 1, "temperature": 0, "ignore_eos": true}`, nil)); again["text"] != out["text"] {
		t.Fatalf("not deterministic: %v", again)
	}
	if chat := asMap(t)(session.Generate("", `{"messages": [{"role": "user", "content": "hi"}], "chat_template": "chatml", "max_tokens": 3, "ignore_eos": true}`, nil)); chat["completion_tokens"].(float64) != 3 {
		t.Fatalf("chat: %v", chat) // "" prompt is NULL: the messages are used
	}
	seen := 0
	if _, err := session.Generate("stop early", `{"max_tokens": 50, "ignore_eos": true}`, func(string) int { seen++; return map[bool]int{true: 1}[seen >= 3] }); !errors.Is(err, ErrCanceled) || seen != 3 {
		t.Fatalf("cancel: %v after %d pieces", err, seen)
	}
}

func TestEngineLifetimes(t *testing.T) {
	path := synthModel(t)
	model, _ := EngineModelLoad(path, "")
	session, err := model.SessionNew("")
	if err != nil {
		t.Fatal(err)
	}
	// The session keeps its model reachable: drop the model, collect, use the session.
	model = nil
	runtime.GC()
	runtime.GC()
	if out := asMap(t)(session.Generate("a", `{"max_tokens": 2, "ignore_eos": true}`, nil)); out["completion_tokens"].(float64) != 2 {
		t.Fatalf("generate: %v", out)
	}
	session.Free()
	session.Free() // idempotent
	if err := session.Reset(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a freed session: %v", err)
	}
	runtime.GC() // the model's finalizer frees it now
}

func TestEngineGoroutinesShareAModel(t *testing.T) {
	model, err := EngineModelLoad(synthModel(t), `{"threads": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Free()
	runGoroutines(t, 4, func(i int) error {
		session, err := model.SessionNew("") // one session per goroutine
		if err != nil {
			return err
		}
		defer session.Free()
		var b strings.Builder
		out, err := session.Generate(fmt.Sprintf("goroutine %d", i), fmt.Sprintf(`{"max_tokens": 6, "seed": %d, "ignore_eos": true}`, i),
			func(p string) int { b.WriteString(p); return 0 })
		if err != nil {
			return err
		}
		var res struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Text != b.String() {
			return fmt.Errorf("generate: %v %s vs %q", err, out, b.String())
		}
		return nil
	})
}

func TestEngineNoLeakOver10kCalls(t *testing.T) {
	model, err := EngineModelLoad(synthModel(t), `{"threads": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Free()
	ids := make([]int32, 32)
	assertNoLeak(t, 10000, func() {
		if _, err := model.Tokenize("hello world", "", ids); err != nil {
			t.Fatal(err)
		}
		if _, err := model.Detokenize([]int32{99999}, ""); !errors.Is(err, ErrInvalid) {
			t.Fatal(err)
		}
	})
	assertNoLeak(t, 300, func() {
		s, err := model.SessionNew("")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Generate("hi", `{"max_tokens": 2, "ignore_eos": true}`, func(string) int { return 0 }); err != nil {
			t.Fatal(err)
		}
		s.Free()
	})
}

func TestEngineFreeingAModelFreesItsSessions(t *testing.T) {
	h := openStore(t, "")
	model, err := h.EngineLoad(synthModel(t), `{"threads": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	session, err := model.SessionNew("")
	if err != nil {
		t.Fatal(err)
	}
	model.Free() // frees the session first: no use-after-free
	if err := session.Reset(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a session of a freed model: %v", err)
	}
	session.Free() // harmless
	other, _ := h.EngineLoad(synthModel(t), "")
	h.Close() // closing the handle frees the models it loaded
	if _, err := other.Info(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a model of a closed handle: %v", err)
	}
}
