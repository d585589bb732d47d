package tools

import "runtime"

// spareProcs is how many more Ps (threads running Go code) the server keeps than it has
// cores. A call blocks the thread it runs on in file system calls (opening, reading and
// syncing the saved image and the conversation record: about eight fsyncs a call), and the
// server shares the cores with its client and other processes, which can deschedule a thread
// that holds a P; with one P per core, a P stuck on such a thread left a core idle while calls
// waited to run. Under 16 calls in flight on 2 cores, 2 Ps kept the cores 85 % busy
// (44.5 calls/s) and 4 Ps 97 % (49.7). The full-size decodes stay bounded by the cores
// (decodeSlots is sized when this package initialises, before SpareProcs runs).
const spareProcs = 2

// coreProcs is the runtime's own GOMAXPROCS (the cores, or the container's CPU limit), taken
// before SpareProcs changes it, so that calling SpareProcs again does not add more.
var coreProcs = runtime.GOMAXPROCS(0)

// SpareProcs sets GOMAXPROCS to the runtime's default plus spareProcs, unless the environment
// sets GOMAXPROCS or a container's CPU limit set the default (see procsFor).
func SpareProcs(getenv func(string) string) {
	if n := procsFor(getenv("GOMAXPROCS"), coreProcs, runtime.NumCPU()); n != coreProcs {
		runtime.GOMAXPROCS(n)
	}
}

// procsFor is the GOMAXPROCS SpareProcs sets: the default unchanged when the operator set
// GOMAXPROCS, or when the default is below the machine's cores — the runtime then follows a
// container's CPU limit (a cgroup quota), and Ps beyond the quota only make the kernel throttle
// the whole process for the rest of each period; otherwise the default plus spareProcs.
// Setting it stops the runtime from following later changes of the CPU limit, which is why a
// limited container is left to the runtime.
func procsFor(env string, def, cores int) int {
	if env != "" || def < cores {
		return def
	}
	return def + spareProcs
}
