package starjson

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkDecode decodes what GET /1.0/instances?recursion=1 returns for
// 100 instances (LXDSTAR_BENCH_JSON names such a file; skipped without it).
func BenchmarkDecode(b *testing.B) {
	path := os.Getenv("LXDSTAR_BENCH_JSON")
	if path == "" {
		b.Skip("set LXDSTAR_BENCH_JSON to a JSON file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Decode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
