package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"mlops/mlops"
)

func init() {
	register(6, "Gateway: a dead deployment, a fallback to the engine's tiny model in-process, and a stream.", stepGateway)
}

func stepGateway(h *mlops.Handle) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check("listen", err)
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close() // keep only the number: a port where nothing listens
	check("GatewayConfigure", h.GatewayConfigure(fmt.Sprintf(`{"models": [
		{"name": "chat", "deployments": [{"id": "primary", "provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:%d/v1", "timeout_ms": 2000}]},
		{"name": "offline", "deployments": [{"id": "tiny-local", "provider": "local", "model": %q, "options": {"threads": 2}}]}],
		"router": {"retries": 1, "backoff_base_ms": 10, "fallbacks": {"chat": ["offline"]}}}`, deadPort, tinyModelPath(h))))
	question := `{"model": "%s", "messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 12, "temperature": 0}`
	out := object(h.Chat(fmt.Sprintf(question, "chat")))
	choice := out["choices"].([]interface{})[0].(map[string]interface{})
	usage := out["usage"].(map[string]interface{})
	fmt.Printf("   asked model 'chat'; its deployment at 127.0.0.1:%d refused the connection (tried twice),\n"+
		"   so the request fell back to model 'offline', whose deployment '%s' runs the engine step's\n"+
		"   tiny model in-process (provider \"local\"). Its weights are random, so the answer is\n"+
		"   gibberish, not \"Paris\": %q\n   (%v prompt tokens through the model's chat template, %v generated, finish_reason %s)\n",
		deadPort, out["x_mlops"].(map[string]interface{})["deployment"], choice["message"].(map[string]interface{})["content"],
		usage["prompt_tokens"], usage["completion_tokens"], choice["finish_reason"])
	var pieces []string
	final := object(h.ChatStream(fmt.Sprintf(question, "offline"), func(chunk string) int {
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(chunk), &c)
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" {
				pieces = append(pieces, ch.Delta.Content)
			}
		}
		return 0 // non-zero would cancel the stream
	}))
	content := final["choices"].([]interface{})[0].(map[string]interface{})["message"].(map[string]interface{})["content"]
	fmt.Printf("   the same question streamed from 'offline' arrived in %d chunks (%q), assembled: %q\n",
		len(pieces), strings.Join(pieces, "|"), content)
}
