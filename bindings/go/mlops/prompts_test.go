package mlops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPromptsPushGetRender(t *testing.T) {
	h := openStore(t, "")
	v1, err := h.PromptPush("team/greet", "Hello {{name}}", `{"message": "first", "tags": {"lang": "en"}}`)
	if err != nil || v1 != 1 {
		t.Fatalf("push: %d %v", v1, err)
	}
	if again, err := h.PromptPush("team/greet", "Hello {{name}}", ""); err != nil || again != 1 {
		t.Fatalf("identical push made %d %v", again, err)
	}
	if v2, err := h.PromptPush("team/greet", "Hi {{name}}{{#tip}} ({{tip}}){{/tip}}", `{"config": {"temperature": 0.3}}`); err != nil || v2 != 2 {
		t.Fatalf("push 2: %d %v", v2, err)
	}
	got := asMap(t)(h.PromptGet("team/greet:1", ""))
	if got["template"] != "Hello {{name}}" || got["version"].(float64) != 1 {
		t.Fatalf("get: %v", got)
	}
	out := asMap(t)(h.PromptRender("team/greet", mustJSON(map[string]interface{}{"name": "Ada", "tip": "smile", "extra": 1}), ""))
	if out["text"] != "Hi Ada (smile)" || fmt.Sprint(out["unused"]) != "[extra]" {
		t.Fatalf("render: %v", out)
	}
	vars, err := h.PromptVariables("team/greet")
	if err != nil || !strings.Contains(vars, `"tip"`) {
		t.Fatalf("variables: %s %v", vars, err)
	}
}

func TestPromptsLabelsSplitHistoryDiffExport(t *testing.T) {
	h := openStore(t, "")
	for _, text := range []string{"one {{x}}", "two {{x}}", "three {{x}}"} {
		if _, err := h.PromptPush("p", text, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.PromptLabelSet("p", 2, "production", `{"actor": "go", "reason": "test"}`); err != nil {
		t.Fatal(err)
	}
	if out := asMap(t)(h.PromptRender("p", `{"x": 1}`, "")); out["text"] != "two 1" {
		t.Fatalf("production: %v", out)
	}
	if err := h.PromptLabelSplit("p", "ab", `[{"version": 1, "weight": 50}, {"version": 3, "weight": 50}]`, ""); err != nil {
		t.Fatal(err)
	}
	seen := map[float64]bool{}
	for i := 0; i < 64; i++ {
		out := asMap(t)(h.PromptRender("p@ab", `{"x": 0}`, fmt.Sprintf(`{"key": "user-%d"}`, i)))
		seen[out["version"].(float64)] = true
	}
	if len(seen) != 2 || !seen[1] || !seen[3] {
		t.Fatalf("split served %v", seen)
	}
	list := asMap(t)(h.PromptList(`{"label": "production"}`))
	if n := len(list["prompts"].([]interface{})); n != 1 {
		t.Fatalf("list: %v", list)
	}
	if err := h.PromptLabelDelete("p", "production", ""); err != nil {
		t.Fatal(err)
	}
	hist := asMap(t)(h.PromptHistory("p"))
	if len(hist["versions"].([]interface{})) != 3 {
		t.Fatalf("history: %v", hist)
	}
	diff, err := h.PromptDiff("p", 1, 2)
	if err != nil || !strings.Contains(diff, "-one {{x}}") || !strings.Contains(diff, "+two {{x}}") {
		t.Fatalf("diff: %q %v", diff, err)
	}
	tree := filepath.Join(t.TempDir(), "tree")
	if err := h.PromptExport(tree, ""); err != nil { // "" is NULL: every prompt
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tree, "p", "v3.txt")); err != nil {
		t.Fatal(err)
	}
	other := openStore(t, "")
	rep := asMap(t)(other.PromptImport(tree, ""))
	if rep["prompts"].(float64) != 1 {
		t.Fatalf("import: %v", rep)
	}
}

func TestPromptsErrors(t *testing.T) {
	h := openStore(t, "")
	_, err := h.PromptPush("bad", "Hello {{#open}} never closed", "")
	var e *Error
	if !errors.Is(err, ErrParse) || !errors.As(err, &e) || !strings.Contains(e.Message, "line 1") {
		t.Fatalf("want ErrParse with a line, got %v", err)
	}
	if _, err := h.PromptGet("missing", ""); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("want ErrNotFound naming the prompt, got %v", err)
	}
	h.PromptPush("needs", "{{who}}", "")
	if _, err := h.PromptRender("needs", "{}", ""); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "who") {
		t.Fatalf("want ErrInvalid naming the variable, got %v", err)
	}
	if err := h.PromptLabelSet("needs", 9, "production", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if _, err := h.PromptRender("needs", "{not json", ""); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
}

func TestPromptsGoroutinesShareAHandle(t *testing.T) {
	h := openStore(t, "")
	h.PromptPush("shared", "v {{i}}", "")
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 25; k++ {
			if _, err := h.PromptPush(fmt.Sprintf("t%d", i%2), fmt.Sprintf("g %d push %d {{x}}", i, k), ""); err != nil {
				return err
			}
			out, err := h.PromptRender("shared", fmt.Sprintf(`{"i": %d}`, k), "")
			if err != nil {
				return err
			}
			if !strings.Contains(out, fmt.Sprintf(`"text":"v %d"`, k)) {
				return fmt.Errorf("render %s", out)
			}
		}
		return nil
	})
	for _, name := range []string{"t0", "t1"} {
		hist := asMap(t)(h.PromptHistory(name))
		if n := len(hist["versions"].([]interface{})); n != 100 {
			t.Fatalf("%s has %d versions, want 100", name, n)
		}
	}
}

func TestPromptsNoLeakOver10kCalls(t *testing.T) {
	h := openStore(t, "")
	h.PromptPush("leak", "Hello {{name}}, {{#items}}[{{.}}]{{/items}}", "")
	assertNoLeak(t, 10000, func() {
		if _, err := h.PromptRender("leak", `{"name": "x", "items": [1, 2, 3]}`, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := h.PromptGet("leak:99", ""); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}
