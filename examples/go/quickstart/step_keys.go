package main

import (
	"errors"
	"fmt"

	"mlops/mlops"
)

func init() {
	register(7, "Keys and routing: the complexity router, and a virtual key whose budget runs out.", stepKeys)
}

func stepKeys(h *mlops.Handle) {
	routing := `{"cheap_model": "gpt-4o-mini", "strong_model": "o3"}`
	fmt.Println("   complexity routing (rule scorer, no model file, no network):")
	for _, p := range []string{"What's the capital of France?",
		"Prove that the square root of 2 is irrational, then generalise the proof to any non-square integer and analyse the edge cases step by step."} {
		e := object(h.RouterExplain(routing, p))
		short := p
		if len(short) > 60 {
			short = short[:60] + "..."
		}
		fmt.Printf("   %q -> %s tier (P(strong) %.2f)\n", short, e["tier"], e["p_strong"])
	}
	key := object(h.KeysCreate(`{"budget": 0.001, "owner": "quickstart"}`))
	secret := key["secret"].(string)
	fmt.Printf("   virtual key %s created with a budget of $0.001 (secret %.11s..., shown once)\n", key["id"], secret)
	for i := 1; i <= 3; i++ {
		res, err := h.KeysAuthorize(secret, "gpt-4o-mini", 0.0004, 700)
		var e *mlops.Error
		if errors.Is(err, mlops.ErrBudget) && errors.As(err, &e) {
			fmt.Printf("   request %d refused (%s): %s\n", i, object(e.Detail, nil)["error"], e.Message)
			continue
		}
		r := object(res, err)
		check("KeysSettle", h.KeysSettle(int64(r["reservation"].(float64)), `{"cost": 0.0004, "tokens_in": 500, "tokens_out": 200, "model": "gpt-4o-mini"}`))
		fmt.Printf("   request %d allowed and charged $0.0004\n", i)
	}
	total := object(h.SpendQuery(fmt.Sprintf(`{"key": %q, "by": "model"}`, key["id"])))["total"].(map[string]interface{})
	fmt.Printf("   ledger for the key: %v requests, $%.4f\n", total["requests"], total["cost"])
}
