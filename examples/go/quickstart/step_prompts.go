package main

import (
	"fmt"

	"mlops/mlops"
)

func init() { register(1, "Prompts: push two versions, label one production, render it.", stepPrompts) }

// stepPrompts: push two versions, label one production, render it.
func stepPrompts(h *mlops.Handle) {
	v1, err := h.PromptPush("quickstart/greeting", "Hello {{name}}, welcome to {{place}}.",
		`{"message": "first draft", "actor": "quickstart"}`)
	check("PromptPush", err)
	v2, err := h.PromptPush("quickstart/greeting", "Hi {{name}}! Welcome to {{place}}.{{#tip}} Tip: {{tip}}{{/tip}}",
		`{"message": "friendlier, optional tip", "config": {"temperature": 0.3}}`)
	check("PromptPush", err)
	fmt.Printf("   pushed prompt 'quickstart/greeting' versions %d and %d (pushing the same text again would create nothing)\n", v1, v2)
	check("PromptLabelSet", h.PromptLabelSet("quickstart/greeting", v2, "production", `{"actor": "quickstart", "reason": "demo launch"}`))
	fmt.Printf("   labelled version %d 'production' (the move is recorded in the history)\n", v2)
	out := object(h.PromptRender("quickstart/greeting@production",
		`{"name": "Ada", "place": "libmlops", "tip": "try 'mlops prompt --help'"}`, ""))
	fmt.Printf("   rendered quickstart/greeting@production:\n   %s\n", out["text"])
}
