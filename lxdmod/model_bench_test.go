package lxdmod

import (
	"syscall"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
	"github.com/lxdstar/lxdstar/internal/testfiles"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// BenchmarkListModels turns a whole GET /1.0/instances?recursion=1 answer
// (the envelope, as LXDSTAR_BENCH_LIST names a file holding it) into
// Instance objects as instances.all() does, and reads each one's name and
// config as bench/star/list.star does.
func BenchmarkListModels(b *testing.B) {
	data := testfiles.FromEnv(b, "LXDSTAR_BENCH_LIST") // a saved recursion=1 answer
	g := &manager{managerKind: instancesKind, c: &Client{}}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		resp, err := rest.ParseResponse(200, nil, data)
		if err != nil {
			b.Fatal(err)
		}
		var r fieldReader
		err = jsonscan.Array(resp.Metadata, func(elem []byte) error {
			fields, err := r.object(elem)
			m := g.model(fields, "")
			if _, err := m.Attr("config"); err != nil {
				return err
			}
			_ = m.key()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// CPU time (all threads, the collector's too) is steadier than wall
	// time on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
