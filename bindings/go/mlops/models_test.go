package mlops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func registerModel(t *testing.T, h *Handle, name string, auc float64) int64 {
	t.Helper()
	v, err := h.ModelRegister(name, fmt.Sprintf(`{"uri": "s3://m/%s/%g", "format": "onnx", "metrics": {"auc": %g}}`, name, auc, auc))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestModelsRegistry(t *testing.T) {
	h := openStore(t, "")
	if v := registerModel(t, h, "fraud", 0.8); v != 1 {
		t.Fatalf("first version %d", v)
	}
	registerModel(t, h, "fraud", 0.9)
	got := asMap(t)(h.ModelGet("fraud:1"))
	if got["format"] != "onnx" || got["version"].(float64) != 1 {
		t.Fatalf("get: %v", got)
	}
	if l := asList(t)(h.ModelList()); len(l) != 1 || l[0].(map[string]interface{})["versions"].(float64) != 2 {
		t.Fatalf("list: %v", l)
	}
	if found := asList(t)(h.ModelSearch("metrics.auc > 0.85", 0)); len(found) != 1 {
		t.Fatalf("search: %v", found)
	}
	if all := asList(t)(h.ModelSearch("", 0)); len(all) != 2 { // "" is NULL: everything
		t.Fatalf("search all: %v", all)
	}
	if err := h.ModelUpdate("fraud", 1, `{"metrics": {"f1": 0.5}}`); err != nil {
		t.Fatal(err)
	}
	if f1 := asMap(t)(h.ModelGet("fraud:1"))["metrics"].(map[string]interface{})["f1"]; f1 != 0.5 {
		t.Fatalf("updated f1 %v", f1)
	}
	// A local artifact is hashed; verify notices a change.
	art := filepath.Join(t.TempDir(), "model.bin")
	os.WriteFile(art, []byte("weights"), 0o644)
	if _, err := h.ModelRegister("local", fmt.Sprintf(`{"uri": %q}`, art)); err != nil {
		t.Fatal(err)
	}
	if v := asMap(t)(h.ModelVerify("local")); v["ok"] != true {
		t.Fatalf("verify: %v", v)
	}
	os.WriteFile(art, []byte("tampered"), 0o644)
	if _, err := h.ModelVerify("local"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), art) {
		t.Fatalf("want ErrCorrupt naming the file, got %v", err)
	}
	if _, err := h.ModelRegister("x", `{"uri": "s3://a", "colour": "red"}`); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("want ErrInvalid naming the key, got %v", err)
	}
	if _, err := h.ModelSearch("name = ", 0); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
}

func TestModelsGateDetail(t *testing.T) {
	h := openStore(t, "")
	worse, better := registerModel(t, h, "m", 0.78), registerModel(t, h, "m", 0.91)
	if err := h.ModelSetGate("m", "production", `[{"metric": "auc", "threshold": 0.8}]`); err != nil {
		t.Fatal(err)
	}
	if g := asMap(t)(h.ModelGetGate("m", "")); g["scope"] != "none" { // "" is NULL: model-wide
		t.Fatalf("model-wide gate: %v", g)
	}
	_, err := h.ModelPromote("m", worse, "production", 0, "")
	if !errors.Is(err, ErrGate) {
		t.Fatalf("want ErrGate, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Detail, `"action":"blocked"`) {
		t.Fatalf("the refusal should carry the decision: %#v", err)
	}
	decision := asMap(t)(h.ModelPromote("m", better, "production", 0, ""))
	if decision["action"] != "moved" {
		t.Fatalf("promote: %v", decision)
	}
	if _, err := h.ModelPromote("m", worse, "production", 1, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("force without a reason: %v", err)
	}
	if err := h.ModelRemoveAlias("m", "production", ""); err != nil {
		t.Fatal(err)
	}
	if hist := asList(t)(h.ModelHistory("m", 0)); !strings.Contains(mustJSON(hist), "promote_blocked") {
		t.Fatalf("history: %v", hist)
	}
}

func TestModelsCanaryRollsBack(t *testing.T) {
	h := openStore(t, `{"models": {"flush_every": 1}}`)
	base, cand := registerModel(t, h, "svc", 0.9), registerModel(t, h, "svc", 0.91)
	if _, err := h.ModelPromote("svc", base, "production", 0, ""); err != nil {
		t.Fatal(err)
	}
	st := asMap(t)(h.DeployStart("svc", "production", fmt.Sprintf(`{"strategy": "canary", "candidate": %d, "steps": [50, 100], "min_observations": 20, "analysis": ["error_rate <= 0.05"]}`, cand)))
	if st["state"] != "running" {
		t.Fatalf("start: %v", st)
	}
	served := map[int64]bool{}
	shadows := make([]int32, 4)
	for i := 0; i < 400; i++ {
		v, n, err := h.DeployPick("svc", "production", fmt.Sprintf("user-%d", i), shadows)
		if err != nil || n != 0 {
			t.Fatalf("pick: %d %d %v", v, n, err)
		}
		served[v] = true
		bad := 0
		if v == cand {
			bad = 1
		}
		if err := h.DeployObserve("svc", v, fmt.Sprintf(`{"error_rate": %d}`, bad)); errors.Is(err, ErrState) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !served[base] || !served[cand] {
		t.Fatalf("served %v", served)
	}
	if st := asMap(t)(h.DeployStatus("svc", "production")); st["state"] != "rolled_back" {
		t.Fatalf("status: %v", st)
	}
	if v, _, err := h.DeployPick("svc", "production", "", nil); err != nil || v != base {
		t.Fatalf("after rollback: %d %v", v, err)
	}
}

func TestModelsShadowLifecycle(t *testing.T) {
	h := openStore(t, "")
	base, cand := registerModel(t, h, "sh", 0.9), registerModel(t, h, "sh", 0.95)
	h.ModelPromote("sh", base, "production", 0, "")
	if _, err := h.DeployStart("sh", "production", fmt.Sprintf(`{"strategy": "shadow", "candidate": %d}`, cand)); err != nil {
		t.Fatal(err)
	}
	shadows := make([]int32, 4)
	v, n, err := h.DeployPick("sh", "production", "u", shadows)
	if err != nil || v != base || n != 1 || int64(shadows[0]) != cand {
		t.Fatalf("pick: %d %d %v %v", v, n, shadows, err)
	}
	if err := h.DeployObserveValue("sh", cand, "latency_ms", 12.5); err != nil {
		t.Fatal(err)
	}
	if err := h.DeployFlush(); err != nil {
		t.Fatal(err)
	}
	if st := asMap(t)(h.DeployPause("sh", "production", "look")); st["state"] != "paused" {
		t.Fatalf("pause: %v", st)
	}
	if st := asMap(t)(h.DeployResume("sh", "production")); st["state"] != "running" {
		t.Fatalf("resume: %v", st)
	}
	if st := asMap(t)(h.DeployPromote("sh", "production", 0, "good")); st["state"] != "promoted" {
		t.Fatalf("promote: %v", st)
	}
	if _, err := h.DeployAbort("sh", "production", ""); !errors.Is(err, ErrState) {
		t.Fatalf("abort after promotion: %v", err)
	}
	if _, err := h.DeployRollback("sh", "production", "oops"); err != nil {
		t.Fatal(err)
	}
}

func TestModelsGoroutinesShareAHandle(t *testing.T) {
	h := openStore(t, "")
	base, cand := registerModel(t, h, "t", 0.9), registerModel(t, h, "t", 0.91)
	h.ModelPromote("t", base, "production", 0, "")
	if _, err := h.DeployStart("t", "production", fmt.Sprintf(`{"strategy": "ab", "metric": "conv", "test": "proportion", "arms": [{"name": "a", "version": %d, "weight": 50}, {"name": "b", "version": %d, "weight": 50}]}`, base, cand)); err != nil {
		t.Fatal(err)
	}
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 100; k++ {
			v, _, err := h.DeployPick("t", "production", fmt.Sprintf("u%d-%d", i, k), nil)
			if err != nil {
				return err
			}
			if err := h.DeployObserveValue("t", v, "conv", float64(k%2)); err != nil {
				return err
			}
		}
		return nil
	})
	st := asMap(t)(h.DeployStatus("t", "production"))
	total := 0.0
	for _, o := range st["observations"].(map[string]interface{}) {
		total += o.(map[string]interface{})["observations"].(float64)
	}
	if total != 800 {
		t.Fatalf("observations %v, want 800", total)
	}
}

func TestModelsNoLeakOver10kCalls(t *testing.T) {
	h := openStore(t, "")
	registerModel(t, h, "leak", 0.5)
	h.ModelSetGate("leak", "production", `[{"metric": "auc", "threshold": 0.9}]`)
	assertNoLeak(t, 10000, func() {
		if _, err := h.ModelGet("leak"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ModelGet("leak:7"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if _, _, err := h.DeployPick("leak", "latest", "k", nil); err != nil {
			t.Fatal(err)
		}
	})
}
