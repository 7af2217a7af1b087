// quickstart: the Go tour of libmlops; it does what examples/quickstart.c does.
//
// It works on the embedded defaults: an SQLite file, no network, no keys.
//
//	go run ./quickstart [STORE_PATH]
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"

	"mlops/mlops"
)

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

// stepPrompts: push two versions, label one production, render it.
func stepPrompts(h *mlops.Handle) {
	v1, err := h.PromptPush("quickstart/greeting", "Hello {{name}}, welcome to {{place}}.",
		`{"message": "first draft", "actor": "quickstart"}`)
	check("PromptPush", err)
	v2, err := h.PromptPush("quickstart/greeting", "Hi {{name}}! Welcome to {{place}}.{{#tip}} Tip: {{tip}}{{/tip}}",
		`{"message": "friendlier, optional tip", "config": {"temperature": 0.3}}`)
	check("PromptPush", err)
	fmt.Printf("2. pushed prompt 'quickstart/greeting' versions %d and %d (pushing the same text again would create nothing)\n", v1, v2)
	check("PromptLabelSet", h.PromptLabelSet("quickstart/greeting", v2, "production", `{"actor": "quickstart", "reason": "demo launch"}`))
	fmt.Printf("   labelled version %d 'production' (the move is recorded in the history)\n", v2)
	out := object(h.PromptRender("quickstart/greeting@production",
		`{"name": "Ada", "place": "libmlops", "tip": "try 'mlops prompt --help'"}`, ""))
	fmt.Printf("   rendered quickstart/greeting@production:\n   %s\n", out["text"])
}

// stepModels: a registry whose gate decides promotions, and a canary that watches live
// traffic and rolls back by itself.
func stepModels(h *mlops.Handle) {
	name := "fraud-detector"
	if _, err := h.ModelGet(name); err == nil { // a store from an earlier run
		name = fmt.Sprintf("fraud-detector-%d", os.Getpid())
	}
	worse, err := h.ModelRegister(name, `{"uri": "s3://models/fraud/1", "format": "onnx", "metrics": {"auc": 0.78}}`)
	check("ModelRegister", err)
	better, err := h.ModelRegister(name, `{"uri": "s3://models/fraud/2", "format": "onnx", "metrics": {"auc": 0.91}}`)
	check("ModelRegister", err)
	check("ModelSetGate", h.ModelSetGate(name, "production", `[{"metric": "auc", "threshold": 0.8, "min_absolute_change": 0.01}]`))
	fmt.Printf("3. registered %s versions %d (auc 0.78) and %d (auc 0.91); gate on production: auc >= 0.8 and at least +0.01 over the current production version\n", name, worse, better)
	_, err = h.ModelPromote(name, worse, "production", 0, "")
	var e *mlops.Error
	if !errors.Is(err, mlops.ErrGate) || !errors.As(err, &e) {
		check("the gate should have refused the worse version", err)
	}
	decision := object(e.Detail, nil) // the refusal carries the gate's decision
	var why []string
	for _, r := range decision["rules"].([]interface{}) {
		if rule := r.(map[string]interface{}); rule["passed"] != true {
			why = append(why, fmt.Sprint(rule["why"]))
		}
	}
	fmt.Printf("   promote version %d -> refused by the gate: %s\n", worse, strings.Join(why, "; "))
	_, err = h.ModelPromote(name, better, "production", 0, "")
	check("ModelPromote", err)
	fmt.Printf("   promote version %d -> production now serves version %d\n", better, better)

	next, err := h.ModelRegister(name, `{"uri": "s3://models/fraud/3", "format": "onnx", "metrics": {"auc": 0.93}}`)
	check("ModelRegister", err)
	_, err = h.DeployStart(name, "production", fmt.Sprintf(`{"strategy": "canary", "candidate": %d, "steps": [10, 50, 100], "min_observations": 100, "analysis": ["error_rate <= 0.05", "latency_ms.p95 <= 300"]}`, next))
	check("DeployStart", err)
	fmt.Printf("4. canary of version %d on production: steps 10%% -> 50%% -> 100%%, each after 100 observations with error_rate <= 0.05 and latency p95 <= 300 ms\n", next)
	// Simulated traffic: the candidate is healthy at first, then its error rate jumps.
	rng := rand.New(rand.NewSource(7))
	servedNew, requests := 0, 0
	for i := 0; i < 5000; i++ {
		v, _, err := h.DeployPick(name, "production", fmt.Sprintf("user-%d", i), nil)
		check("DeployPick", err)
		requests++
		r := rng.Float64()
		broken := v == next && servedNew >= 150 // a bad dependency after 150 requests
		if v == next {
			servedNew++
		}
		failed := 0
		if (broken && r < 0.3) || r < 0.01 {
			failed = 1
		}
		err = h.DeployObserve(name, v, fmt.Sprintf(`{"error_rate": %d, "latency_ms": %d}`, failed, 80+int(r*100)))
		if errors.Is(err, mlops.ErrState) {
			break // the deployment ended: nothing observes the old split any more
		}
		check("DeployObserve", err)
	}
	st := object(h.DeployStatus(name, "production"))
	fmt.Printf("   after %d requests (%d served by version %d) the canary is %s:\n   %s\n", requests, servedNew, next, st["state"], st["reason"])
	v, _, err := h.DeployPick(name, "production", "user-1", nil)
	check("DeployPick", err)
	fmt.Printf("   production serves version %d again; `mlops model history %s` shows every decision\n", v, name)
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
	for _, step := range []func(*mlops.Handle){stepPrompts, stepModels} {
		step(h)
	}
	fmt.Println("\ndone.")
}
