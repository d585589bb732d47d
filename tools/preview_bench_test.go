//go:build unix

package tools

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPreview: preview time and size per preset at 1K, 2K and 4K (16:9 sizes of Nano
// Banana Pro), and on pictures like the simulator's (-sim). Issue #17's targets are ≤ 30 ms
// of CPU at 1K and ≤ 250 ms at 4K.
func BenchmarkPreview(b *testing.B) {
	sizes := []struct {
		name string
		w, h int
		sim  bool
	}{{"1K", 1376, 768, false}, {"1K-square", 1024, 1024, false}, {"2K", 2752, 1536, false}, {"4K", 5504, 3072, false},
		{"1K-square-sim", 1024, 1024, true}, {"4K-sim", 5504, 3072, true}}
	for _, sz := range sizes {
		data := photoPNG(b, sz.w, sz.h)
		if sz.sim {
			data = simPhotoPNG(b, sz.w, sz.h)
		}
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

// simPhotoPNG is a picture like the simulator's photo-like ones (Config.Photo): noise of ±8
// levels drawn for each channel on its own, which Go's encoder stores with the Average filter
// on every row, 27 MB at 4K — the large end of Gemini's 20–27 MB.
func simPhotoPNG(b testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w)<<32|uint64(h), 1))
	noisy := func(v int, n uint64) uint8 { return uint8(min(255, max(0, v+int(n&15)-8))) }
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			t, n := (x+y)*255/(w+h), rng.Uint64()
			px := row[4*x : 4*x+4 : 4*x+4]
			px[0], px[1], px[2], px[3] = noisy(30+t/2, n), noisy(200-t/2, n>>8), noisy(90+t/3, n>>16), 0xff
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
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
