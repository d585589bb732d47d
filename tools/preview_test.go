package tools

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"runtime"
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
