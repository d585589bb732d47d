//go:build unix

package tools

import (
	"bytes"
	"fmt"
	"image/png"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPreview: preview time and size per preset at 1K, 2K and 4K (16:9 sizes of Nano
// Banana Pro). The 4K target in DESIGN.md is ≤ 300 ms of server time with the preview.
func BenchmarkPreview(b *testing.B) {
	sizes := []struct {
		name string
		w, h int
	}{{"1K", 1376, 768}, {"1K-square", 1024, 1024}, {"2K", 2752, 1536}, {"4K", 5504, 3072}}
	for _, sz := range sizes {
		data := photoPNG(b, sz.w, sz.h)
		for _, name := range PresetNames() {
			o := Presets[name].Preview
			o.defaults()
			b.Run(fmt.Sprintf("%s/%s", sz.name, name), func(b *testing.B) {
				var out *Preview
				cpu := startCPU()
				for b.Loop() {
					var err error
					if out, err = makePreview(data, o); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
				b.ReportMetric(float64(len(out.Data))/1024, "preview-KiB")
				b.ReportMetric(float64(len(data))/(1<<20), "source-MiB")
			})
		}
	}
}

// BenchmarkDecodePNG is the reference the preview targets are set against: what decoding the
// PNG alone costs with the standard library.
func BenchmarkDecodePNG(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"1K", 1376, 768}, {"1K-square", 1024, 1024}, {"4K", 5504, 3072}} {
		data := photoPNG(b, sz.w, sz.h)
		b.Run(sz.name, func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				if _, err := png.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
		})
	}
}

// cpuClock measures the process's CPU time (user and system, GC included) across a
// benchmark loop: on a shared machine wall time per op measures the neighbours too.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
