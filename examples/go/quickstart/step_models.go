package main

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"

	"mlops/mlops"
)

func init() {
	register(4, "Models: a registry whose gate decides promotions, and a canary that watches live traffic and rolls back by itself.", stepModels)
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
	fmt.Printf("   registered %s versions %d (auc 0.78) and %d (auc 0.91); gate on production: auc >= 0.8 and at least +0.01 over the current production version\n", name, worse, better)
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
	fmt.Printf("   canary of version %d on production: steps 10%% -> 50%% -> 100%%, each after 100 observations with error_rate <= 0.05 and latency p95 <= 300 ms\n", next)
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
