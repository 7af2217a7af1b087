package mlops

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeProvider is a loopback OpenAI-compatible provider: it answers "echo: <last user
// message>", word by word as server-sent events when the request streams, and HTTP 500
// when the upstream model is "fail-500".
func fakeProvider(t *testing.T) (*httptest.Server, *int64) {
	var requests int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&requests, 1)
		var body struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if body.Model == "fail-500" {
			http.Error(w, `{"error": {"message": "boom"}}`, 500)
			return
		}
		text := "echo: " + body.Messages[len(body.Messages)-1].Content
		usage := map[string]int{"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
		if !body.Stream {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]interface{}{
				"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body.Model,
				"choices": []interface{}{map[string]interface{}{"index": 0, "finish_reason": "stop",
					"message": map[string]string{"role": "assistant", "content": text}}},
				"usage": usage})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		flusher := w.(http.Flusher)
		for k, word := range strings.Split(text, " ") {
			if k > 0 {
				word = " " + word
			}
			chunk := map[string]interface{}{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
				"model": body.Model, "choices": []interface{}{map[string]interface{}{"index": 0,
					"delta": map[string]string{"content": word}, "finish_reason": nil}}}
			fmt.Fprintf(w, "data: %s\n\n", mustJSON(chunk))
			flusher.Flush()
		}
		fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", mustJSON(map[string]interface{}{"id": "chatcmpl-1",
			"object": "chat.completion.chunk", "created": 1, "model": body.Model, "usage": usage,
			"choices": []interface{}{map[string]interface{}{"index": 0, "delta": map[string]string{}, "finish_reason": "stop"}}}))
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func gatewayStore(t *testing.T) (*Handle, *int64) {
	srv, requests := fakeProvider(t)
	h := openStore(t, "")
	cfg := fmt.Sprintf(`{"models": [
		{"name": "chat", "deployments": [{"provider": "openai", "base_url": "%[1]s/v1", "model": "up-1", "api_key": "sk-test", "id": "chat-a"}]},
		{"name": "broken", "deployments": [{"provider": "openai", "base_url": "%[1]s/v1", "model": "fail-500"}]}],
		"router": {"retries": 0}}`, srv.URL)
	if err := h.GatewayConfigure(cfg); err != nil {
		t.Fatal(err)
	}
	return h, requests
}

func chatRequest(text, model string) string {
	return mustJSON(map[string]interface{}{"model": model, "messages": []interface{}{
		map[string]string{"role": "user", "content": text}}})
}

func content(t *testing.T, resp map[string]interface{}) string {
	t.Helper()
	return resp["choices"].([]interface{})[0].(map[string]interface{})["message"].(map[string]interface{})["content"].(string)
}

func TestGatewayChat(t *testing.T) {
	h, _ := gatewayStore(t)
	resp := asMap(t)(h.Chat(chatRequest("hello there", "chat")))
	if content(t, resp) != "echo: hello there" || resp["x_mlops"].(map[string]interface{})["deployment"] != "chat-a" {
		t.Fatalf("chat: %v", resp)
	}
	st := asMap(t)(h.GatewayStatus())
	if !strings.Contains(mustJSON(st), `"successes":1`) {
		t.Fatalf("status: %v", st)
	}
}

func TestGatewayStreamReachesGo(t *testing.T) {
	h, _ := gatewayStore(t)
	var chunks []string
	final, err := h.ChatStream(chatRequest("one two three", "chat"), func(chunk string) int {
		chunks = append(chunks, chunk)
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, c := range chunks {
		var m struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(c), &m); err != nil || m.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %q: %v", c, err)
		}
		for _, ch := range m.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.String() != "echo: one two three" || len(chunks) < 4 {
		t.Fatalf("streamed %q in %d chunks", text.String(), len(chunks))
	}
	if got := content(t, asMap(t)(final, nil)); got != "echo: one two three" {
		t.Fatalf("final %q", got)
	}
	// A non-zero return cancels.
	n := 0
	_, err = h.ChatStream(chatRequest("a b c d e f", "chat"), func(string) int {
		n++
		if n == 2 {
			return 1
		}
		return 0
	})
	if !errors.Is(err, ErrCanceled) || n != 2 {
		t.Fatalf("cancel: %v after %d chunks", err, n)
	}
}

func TestGatewayErrors(t *testing.T) {
	h, _ := gatewayStore(t)
	if _, err := h.Chat(chatRequest("x", "broken")); !errors.Is(err, ErrProvider) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want ErrProvider naming the status, got %v", err)
	}
	if _, err := h.Chat(chatRequest("x", "nope")); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if _, err := h.Chat("{not json"); !errors.Is(err, ErrParse) {
		t.Fatalf("want ErrParse, got %v", err)
	}
	if err := h.GatewayConfigure(`{"models": [], "routr": {}}`); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "routr") {
		t.Fatalf("want ErrConfig naming the key, got %v", err)
	}
}

func TestGatewayGoroutinesShareAHandle(t *testing.T) {
	h, requests := gatewayStore(t)
	runGoroutines(t, 8, func(i int) error {
		for k := 0; k < 10; k++ {
			want := fmt.Sprintf("echo: g%d %d", i, k)
			if k%2 == 1 {
				chunks := 0
				final, err := h.ChatStream(chatRequest(fmt.Sprintf("g%d %d", i, k), "chat"), func(string) int { chunks++; return 0 })
				if err != nil || !strings.Contains(final, want) || chunks < 2 {
					return fmt.Errorf("stream %d/%d: %v %d %s", i, k, err, chunks, final)
				}
			} else {
				resp, err := h.Chat(chatRequest(fmt.Sprintf("g%d %d", i, k), "chat"))
				if err != nil || !strings.Contains(resp, want) {
					return fmt.Errorf("chat %d/%d: %v %s", i, k, err, resp)
				}
			}
		}
		return nil
	})
	if n := atomic.LoadInt64(requests); n != 80 {
		t.Fatalf("%d upstream requests, want 80", n)
	}
}

func TestGatewayNoLeakOver10kCalls(t *testing.T) {
	h, _ := gatewayStore(t)
	assertNoLeak(t, 10000, func() {
		if _, err := h.Chat(chatRequest("x", "nope")); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
	assertNoLeak(t, 1000, func() {
		if _, err := h.Chat(chatRequest("leak", "chat")); err != nil {
			t.Fatal(err)
		}
		if _, err := h.ChatStream(chatRequest("leak stream", "chat"), func(string) int { return 0 }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGatewayStreamFromTheLocalEngine(t *testing.T) {
	h := openStore(t, "")
	gguf := synthModel(t)
	if err := h.GatewayConfigure(fmt.Sprintf(`{"models": [{"name": "offline", "deployments": [{"provider": "local", "model": %q, "chat_template": "chatml", "options": {"threads": 1}}]}]}`, gguf)); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	final, err := h.ChatStream(`{"model": "offline", "max_tokens": 5, "temperature": 0, "messages": [{"role": "user", "content": "hi"}]}`,
		func(chunk string) int {
			var c struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
			}
			json.Unmarshal([]byte(chunk), &c)
			for _, ch := range c.Choices {
				text.WriteString(ch.Delta.Content)
			}
			return 0
		})
	if err != nil {
		t.Fatal(err)
	}
	resp := asMap(t)(final, nil)
	if content(t, resp) != text.String() || resp["x_mlops"].(map[string]interface{})["provider"] != "local" {
		t.Fatalf("streamed %q, final %v", text.String(), resp)
	}
}
