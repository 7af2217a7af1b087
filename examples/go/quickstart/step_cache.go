package main

import (
	"fmt"

	"mlops/mlops"
)

func init() {
	register(2, "Cache: an answer cached once serves the same question and a paraphrase.", stepCache)
}

func stepCache(h *mlops.Handle) {
	asked := `{"namespace": "quickstart", "prompt": "How do I open a file?"}`
	id, err := h.CachePut(asked, `"Call open(path, mode) and close it when done."`, `{"ttl_s": 3600}`)
	check("CachePut", err)
	fmt.Printf("   cached an answer for \"How do I open a file?\" (entry %d), then looked up:\n", id)
	for _, q := range [][2]string{{"the same question again", "How do I open a file?"},
		{"a paraphrase", "how can I open a file"}, {"a different question", "How do I close a file?"}} {
		hit := object(h.CacheLookup(fmt.Sprintf(`{"namespace": "quickstart", "prompt": %q}`, q[1]), ""))
		result := "miss"
		if hit["hit"] != nil {
			result = fmt.Sprintf("%s hit, similarity %.2f", hit["hit"], hit["similarity"])
		}
		fmt.Printf("   - %s (%q): %s\n", q[0], q[1], result)
	}
	st := object(h.CacheStats())
	hits := st["hits"].(map[string]interface{})
	fmt.Printf("   cache stats: %v entries, %v exact and %v semantic hits, %v misses\n", st["entries"], hits["exact"], hits["semantic"], st["misses"])
}
