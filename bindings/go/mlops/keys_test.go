package mlops

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestKeysLifecycle(t *testing.T) {
	h := openStore(t, "")
	key := asMap(t)(h.KeysCreate(`{"alias": "team-a", "budget": 1.0, "models": ["chat"], "owner": "ada"}`))
	secret, id := key["secret"].(string), key["id"].(string)
	if !strings.HasPrefix(secret, "mk-") {
		t.Fatalf("create: %v", key)
	}
	res := asMap(t)(h.KeysAuthorize(secret, "chat", 0.4, 1000))
	if err := h.KeysSettle(int64(res["reservation"].(float64)), `{"cost": 0.3, "model": "chat"}`); err != nil {
		t.Fatal(err)
	}
	if got := asMap(t)(h.KeysGet("team-a")); got["spent"].(float64) < 0.299 {
		t.Fatalf("get: %v", got)
	}
	rel := asMap(t)(h.KeysAuthorize(secret, "", 0.1, 10)) // "" model is NULL
	if err := h.KeysRelease(int64(rel["reservation"].(float64))); err != nil {
		t.Fatal(err)
	}
	if err := h.SpendRecord(`{"cost": 0.05, "model": "chat"}`); err != nil {
		t.Fatal(err)
	}
	if total := asMap(t)(h.SpendQuery(`{"by": "total"}`))["total"].(map[string]interface{}); total["requests"].(float64) != 2 {
		t.Fatalf("spend: %v", total)
	}
	if l := asList(t)(h.KeysList(`{"owner": "ada"}`)); len(l) != 1 {
		t.Fatalf("list: %v", l)
	}
	if n, err := h.SpendPrune(1); err != nil || n != 0 {
		t.Fatalf("prune: %d %v", n, err)
	}
	// Refusals: typed errors whose Detail is the reason JSON.
	_, err := h.KeysAuthorize(secret, "chat", 5, 10)
	var e *Error
	if !errors.Is(err, ErrBudget) || !errors.As(err, &e) || !strings.Contains(e.Detail, `"error":"budget"`) {
		t.Fatalf("want ErrBudget with detail, got %#v", err)
	}
	if _, err := h.KeysAuthorize(secret, "other", 0.1, 1); !errors.Is(err, ErrAuth) {
		t.Fatalf("want ErrAuth for a model not allowed, got %v", err)
	}
	rot := asMap(t)(h.KeysRotate(id, 0))
	if _, err := h.KeysAuthorize(secret, "chat", 0.1, 1); !errors.Is(err, ErrAuth) {
		t.Fatalf("the old secret still works: %v", err)
	}
	if err := h.KeysRevoke(id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.KeysAuthorize(rot["secret"].(string), "chat", 0.1, 1); !errors.Is(err, ErrAuth) {
		t.Fatalf("a revoked key works: %v", err)
	}
	lim := asMap(t)(h.KeysCreate(`{"rpm": 1}`))
	h.KeysAuthorize(lim["secret"].(string), "", 0, 1)
	if _, err := h.KeysAuthorize(lim["secret"].(string), "", 0, 1); !errors.Is(err, ErrRateLimit) {
		t.Fatalf("want ErrRateLimit, got %v", err)
	}
	if _, err := h.KeysCreate(`{"alias": "team-a"}`); !errors.Is(err, ErrExists) {
		t.Fatalf("want ErrExists, got %v", err)
	}
}

func TestKeysGoroutinesNeverOverspend(t *testing.T) {
	h := openStore(t, "")
	secret := asMap(t)(h.KeysCreate(`{"budget": 1.0}`))["secret"].(string)
	var granted int64
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 10; k++ {
			out, err := h.KeysAuthorize(secret, "", 0.1, 1)
			if errors.Is(err, ErrBudget) {
				continue
			} else if err != nil {
				return err
			}
			atomic.AddInt64(&granted, 1)
			var id int64
			fmt.Sscanf(out[strings.Index(out, `"reservation":`)+len(`"reservation":`):], "%d", &id)
			if err := h.KeysSettle(id, `{"cost": 0.1}`); err != nil {
				return err
			}
		}
		return nil
	})
	if granted != 10 {
		t.Fatalf("%d reservations granted, want exactly 10", granted)
	}
}

func TestKeysNoLeakOver10kCalls(t *testing.T) {
	h := openStore(t, "")
	key := asMap(t)(h.KeysCreate(`{"budget": 0}`))
	assertNoLeak(t, 10000, func() {
		if _, err := h.KeysGet(key["id"].(string)); err != nil {
			t.Fatal(err)
		}
		if _, err := h.KeysAuthorize(key["secret"].(string), "", 1, 1); !errors.Is(err, ErrBudget) {
			t.Fatal(err)
		}
	})
}

const routing = `{"cheap_model": "small", "strong_model": "large", "models": ["auto"]}`

func autoReq(text string) string {
	return mustJSON(map[string]interface{}{"model": "auto", "messages": []interface{}{map[string]string{"role": "user", "content": text}}})
}

func TestRouter(t *testing.T) {
	h := openStore(t, "")
	if d := asMap(t)(h.RouterDecide(routing, autoReq("hi"), "")); d["model"] != "small" {
		t.Fatalf("decide: %v", d)
	}
	if x := asMap(t)(h.RouterExplain("", "Prove the Riemann hypothesis")); x["features"] == nil {
		t.Fatalf("explain: %v", x)
	}
	var data strings.Builder
	for i := 0; i < 4; i++ {
		for _, p := range []string{"hi there", "thanks!", "say hello", "what time is it"} {
			fmt.Fprintf(&data, "{\"prompt\": %q, \"label\": \"cheap\"}\n", p)
		}
		for _, p := range []string{"Prove that there are infinitely many primes", "Design a consensus protocol and analyse its failure modes", "Derive the gradient of softmax cross-entropy", "Write a compiler pass for loop-invariant code motion"} {
			fmt.Fprintf(&data, "{\"prompt\": %q, \"label\": \"strong\"}\n", p)
		}
	}
	model, err := h.RouterTrain(data.String(), `{"seed": 1}`)
	if err != nil || !strings.Contains(model, "mlops-router") {
		t.Fatalf("train: %v %.80s", err, model)
	}
	cfg := fmt.Sprintf(`{"cheap_model": "small", "strong_model": "large", "model": %s}`, model)
	if ev := asMap(t)(h.RouterEval(cfg, data.String(), "")); ev["n"].(float64) != 32 {
		t.Fatalf("eval: %v", ev)
	}
	if _, err := h.RouterDecide(`{"rules": [{"name": "x", "match": {}, "tier": "gigantic"}]}`, autoReq("hi"), ""); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "rules[0].tier") {
		t.Fatalf("want ErrConfig naming the key, got %v", err)
	}
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 100; k++ {
			if d, err := h.RouterDecide(routing, autoReq(fmt.Sprintf("hello %d", k)), ""); err != nil || !strings.Contains(d, `"model":"small"`) {
				return fmt.Errorf("decide: %v %s", err, d)
			}
		}
		return nil
	})
	assertNoLeak(t, 10000, func() {
		if _, err := h.RouterDecide(routing, autoReq("hello"), ""); err != nil {
			t.Fatal(err)
		}
	})
}
