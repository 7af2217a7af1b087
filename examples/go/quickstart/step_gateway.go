package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"mlops/mlops"
)

func init() {
	register(5, "Gateway: a dead deployment, a fallback to a loopback stand-in, and a stream.", stepGateway)
}

// standIn is a loopback OpenAI-compatible provider answering every chat with "Paris.".
func standIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		usage := `{"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16}`
		if !body.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": %q, "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Paris."}}], "usage": %s}`, body.Model, usage)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{`{"role": "assistant", "content": "Paris"}, "finish_reason": null`, `{"content": "."}, "finish_reason": null`, `{}, "finish_reason": "stop"`} {
			fmt.Fprintf(w, "data: {\"id\": \"chatcmpl-standin\", \"object\": \"chat.completion.chunk\", \"created\": 0, \"model\": %q, \"usage\": %s, \"choices\": [{\"index\": 0, \"delta\": %s}]}\n\n", body.Model, usage, c)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
}

func stepGateway(h *mlops.Handle) {
	up := standIn()
	defer up.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check("listen", err)
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close() // keep only the number: a port where nothing listens
	check("GatewayConfigure", h.GatewayConfigure(fmt.Sprintf(`{"models": [
		{"name": "chat", "deployments": [{"id": "primary", "provider": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:%d/v1", "timeout_ms": 2000}]},
		{"name": "standin", "deployments": [{"id": "standin", "provider": "openai", "model": "standin-1", "base_url": "%s/v1", "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6}]}],
		"router": {"retries": 1, "backoff_base_ms": 10, "fallbacks": {"chat": ["standin"]}}}`, deadPort, up.URL)))
	question := `{"model": "chat", "messages": [{"role": "user", "content": "What is the capital of France?"}]}`
	out := object(h.Chat(question))
	x := out["x_mlops"].(map[string]interface{})
	answer := out["choices"].([]interface{})[0].(map[string]interface{})["message"].(map[string]interface{})["content"]
	fmt.Printf("   gateway: asked model 'chat'; its deployment at 127.0.0.1:%d refused the connection,\n"+
		"   so the request fell back to model 'standin' and deployment '%s' answered: %q\n", deadPort, x["deployment"], answer)
	fmt.Printf("   cost of the call: $%.8f (prices per million tokens times the usage)\n", x["cost"])
	var pieces []string
	final := object(h.ChatStream(question, func(chunk string) int {
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
	fmt.Printf("   streamed the same question chunk by chunk: [%s] -> %q\n", strings.Join(pieces, " | "),
		final["choices"].([]interface{})[0].(map[string]interface{})["message"].(map[string]interface{})["content"])
}
