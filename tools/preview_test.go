package tools

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// hugePNG is a valid 30000×30000 black 1-bit PNG of about 100 KB: what a hostile relay could
// return to make a decoder allocate gigabytes.
func hugePNG(t *testing.T) []byte {
	const w, h = 30000, 30000
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, 1+(w+7)/8)
	for range h {
		_, _ = zw.Write(row)
	}
	_ = zw.Close()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 1, 0 // 1-bit greyscale
	chunk("IHDR", ihdr)
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	if out.Len() > 1<<20 {
		t.Fatalf("test PNG is %d bytes, meant to be tiny", out.Len())
	}
	return out.Bytes()
}

// A tiny file claiming 30000×30000 pixels is refused from its header, without the 900 MB a
// decoder would allocate for it.
func TestPreviewRefusesAbsurdDimensions(t *testing.T) {
	data := hugePNG(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := makePreview(data, PreviewOptions{MaxEdge: 768, Quality: 80, MaxBytes: 256 << 10})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "30000×30000") {
		t.Fatalf("err = %v, want a refusal naming the dimensions", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("allocated %d MB before refusing", grew>>20)
	}
}

// shrinkBox gives exactly what decoding the whole PNG and box-filtering it gives, for the
// kinds of PNG it handles (every row filter occurs in a noisy picture), and declines the rest.
func TestPNGShrinkMatchesFullDecode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha bool
		w, h  int
		k     int
	}{{"rgb", false, 301, 203, 3}, {"rgba", true, 256, 130, 4}, {"rgb-k2", false, 97, 61, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			src := image.NewNRGBA(image.Rect(0, 0, tc.w, tc.h))
			r := rand.New(rand.NewPCG(3, 4))
			for i := range src.Pix {
				src.Pix[i] = uint8(i/7 + r.IntN(40))
				if i%4 == 3 && !tc.alpha {
					src.Pix[i] = 255
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, src); err != nil {
				t.Fatal(err)
			}
			s := streamPNG(t, buf.Bytes())
			got, err := s.shrinkBox(tc.k)
			if err != nil {
				t.Fatal(err)
			}
			full, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			want := boxShrink(toRGBA(full), tc.k)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			for i := range want.Pix {
				if d := int(got.Pix[i]) - int(want.Pix[i]); d < -1 || d > 1 {
					t.Fatalf("byte %d: %d, want %d", i, got.Pix[i], want.Pix[i])
				}
			}
		})
	}
	gray := image.NewGray(image.Rect(0, 0, 64, 64))
	var buf bytes.Buffer
	_ = png.Encode(&buf, gray)
	if _, ok, _ := openPNG(newChunkReader(nil, buf.Bytes())); ok {
		t.Error("a greyscale PNG is for the standard decoder")
	}
}

func streamPNG(t *testing.T, data []byte) *pngStream {
	t.Helper()
	s, ok, err := openPNG(newChunkReader(nil, data))
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	t.Cleanup(s.close)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// The 3-byte-pixel filter loops (the PNGs Gemini returns) reverse each PNG filter exactly as
// the byte-by-byte definition does.
func TestUnfilterRGBMatchesTheDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for ft := byte(0); ft <= 4; ft++ {
		for _, n := range []int{3, 30, 3 * 257} {
			prev, row := make([]byte, n), make([]byte, n)
			for i := range n {
				prev[i], row[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
			}
			want := slices.Clone(row)
			for i := range want {
				var a, c int
				if i >= 3 {
					a, c = int(want[i-3]), int(prev[i-3])
				}
				b := int(prev[i])
				switch ft {
				case 1:
					want[i] += uint8(a)
				case 2:
					want[i] += uint8(b)
				case 3:
					want[i] += uint8((a + b) / 2)
				case 4:
					p := a + b - c
					pa, pb, pc := absInt(p-a), absInt(p-b), absInt(p-c)
					if pa <= pb && pa <= pc {
						want[i] += uint8(a)
					} else if pb <= pc {
						want[i] += uint8(b)
					} else {
						want[i] += uint8(c)
					}
				}
			}
			if err := unfilter(ft, row, prev, 3); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(row, want) {
				t.Errorf("filter %d, %d bytes: got %v…, want %v…", ft, n, row[:min(n, 9)], want[:min(n, 9)])
			}
		}
	}
}
