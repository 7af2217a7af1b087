package main

import (
	"fmt"
	"path/filepath"

	"mlops/mlops"
)

func init() {
	register(5, "Engine: a tiny random GGUF model written on the spot, tokens streamed as generated.", stepEngine)
}

// tinyModelPath is where the engine step writes its tiny model: next to the store.
func tinyModelPath(h *mlops.Handle) string {
	return filepath.Join(filepath.Dir(object(h.Info())["path"].(string)), "tiny-random.gguf")
}

func stepEngine(h *mlops.Handle) {
	path := tinyModelPath(h)
	check("GGUFSynth", mlops.GGUFSynth(path, `{"arch": "llama", "n_embd": 128, "n_layer": 2, "n_head": 4, "n_ff": 256, "n_vocab": 512, "seed": 7}`))
	model, err := h.EngineLoad(path, `{"threads": 2}`)
	check("EngineLoad", err)
	defer model.Free()
	session, err := model.SessionNew("")
	check("SessionNew", err)
	defer session.Free() // before the model's Free (defers run last-in first-out)
	fmt.Printf("   wrote %s: a tiny llama model with RANDOM weights (seed 7), loaded it and\n"+
		"   generated 12 tokens greedily (expect gibberish):\n   hello world", path)
	result := object(session.Generate("hello world", `{"temperature": 0, "max_tokens": 12, "ignore_eos": true}`,
		func(piece string) int { fmt.Print(piece); return 0 }))
	fmt.Printf("\n   result: %v tokens at %.0f tokens/s\n", result["completion_tokens"], result["decode_tps"])
}
