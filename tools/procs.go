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
// sets GOMAXPROCS. Setting it stops the runtime from following later changes of a container's
// CPU limit; the server starts again when its container is resized anyway.
func SpareProcs(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(coreProcs + spareProcs)
	}
}
