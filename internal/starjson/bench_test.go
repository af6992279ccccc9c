package starjson

import (
	"encoding/json"
	"testing"

	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// BenchmarkDecode decodes what GET /1.0/instances?recursion=1 returns for
// 100 instances (LXDSTAR_BENCH_JSON names such a file; skipped without it).
func BenchmarkDecode(b *testing.B) {
	data := testfiles.FromEnv(b, "LXDSTAR_BENCH_JSON")
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
