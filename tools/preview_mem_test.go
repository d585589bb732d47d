package tools

import "time"

// makePreview is makePreviewFile for an image in memory, for tests, benchmarks and the fuzz
// target: it decodes, scales the longest side to fit MaxEdge, and encodes a JPEG within
// MaxBytes. The server itself always previews the saved file.
func makePreview(data []byte, o PreviewOptions) (*Preview, error) {
	start := time.Now()
	decodeSlots <- struct{}{}
	src, err := previewSource(nil, data, o.MaxEdge)
	<-decodeSlots
	if err != nil {
		return nil, err
	}
	defer recycleRGBA(src)
	return encodePreview(src, o, start)
}
