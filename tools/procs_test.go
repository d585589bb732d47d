package tools

import (
	"runtime"
	"testing"
)

func TestSpareProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }

	SpareProcs(getenv)
	SpareProcs(getenv) // a second server in the same process adds no more
	if got, want := runtime.GOMAXPROCS(0), coreProcs+spareProcs; got != want {
		t.Fatalf("GOMAXPROCS = %d, want the default %d plus %d spare", got, coreProcs, spareProcs)
	}

	runtime.GOMAXPROCS(1)
	env["GOMAXPROCS"] = "1"
	SpareProcs(getenv)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS = %d with GOMAXPROCS=1 in the environment, want it left at 1", got)
	}
}
