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
	// procsFor("", ...) is the default plus the spare Ps, or the default in a CPU-limited container.
	if got, want := runtime.GOMAXPROCS(0), procsFor("", coreProcs, runtime.NumCPU()); got != want {
		t.Fatalf("GOMAXPROCS = %d, want %d (default %d, %d cores)", got, want, coreProcs, runtime.NumCPU())
	}

	runtime.GOMAXPROCS(1)
	env["GOMAXPROCS"] = "1"
	SpareProcs(getenv)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS = %d with GOMAXPROCS=1 in the environment, want it left at 1", got)
	}
}

func TestProcsForLeavesALimitedContainerAlone(t *testing.T) {
	for _, tc := range []struct {
		name             string
		env              string
		def, cores, want int
	}{
		{"a machine's cores", "", 2, 2, 4},
		{"GOMAXPROCS set by the operator", "3", 3, 8, 3},
		{"a container limited to 1 of 8 cores", "", 1, 8, 1},
		{"a container limited to 4 of 16 cores", "", 4, 16, 4},
	} {
		if got := procsFor(tc.env, tc.def, tc.cores); got != tc.want {
			t.Errorf("%s: procsFor(%q, %d, %d) = %d, want %d", tc.name, tc.env, tc.def, tc.cores, got, tc.want)
		}
	}
}
