package geminitest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"  // decode input image sizes
	_ "image/jpeg" // decode input image sizes
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "golang.org/x/image/webp" // decode input image sizes
)

// Finish messages. IMAGE_OTHER and IMAGE_PROHIBITED_CONTENT are the texts of
// captured bodies (python-genai#2049, litellm#20357); IMAGE_SAFETY's is
// modelled on them.
const (
	msgImageSafety     = "Unable to show the generated image. The generated image may contain content that violates Google's Generative AI Prohibited Use policy. Try rephrasing the prompt."
	msgImageOther      = "Unable to show the generated image. The model could not generate the image based on the prompt provided."
	msgImageProhibited = "The model output could not be generated. This output contains sensitive words that violate Google's Responsible AI practices. Support code: 42876398."
)

// finishFor maps content faults to finishReason and finishMessage.
var finishFor = map[FaultKind][2]string{
	KindImageSafety:     {"IMAGE_SAFETY", msgImageSafety},
	KindImageOther:      {"IMAGE_OTHER", msgImageOther},
	KindImageProhibited: {"IMAGE_PROHIBITED_CONTENT", msgImageProhibited},
}

const badGatewayHTML = `<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
  <title>Error 502 (Server Error)!!1</title>
  <p><b>502.</b> <ins>That’s an error.</ins>
  <p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>
`

// faultStatus returns the error body of an error-answer fault.
func faultStatus(f Fault, model string) (rpcStatus, bool) {
	switch f.Kind {
	case KindRateLimited:
		d := f.Delay
		if d == 0 {
			d = defaultRetryDelay
		}
		return quotaExceeded(dimRPM, model, 10, d), true
	case KindDailyQuota:
		return quotaExceeded(dimRPD, model, 1000, 13*time.Hour+7*time.Minute+12*time.Second), true
	case KindNoFreeTier:
		return quotaExceeded(dimFree, model, 0, 37360*time.Millisecond), true
	case KindVertexExhausted:
		return vertexExhausted(), true
	case KindInvalidKey:
		return apiKeyInvalid(), true
	case KindPermission:
		return rpcStatus{Code: 403, Status: "PERMISSION_DENIED",
			Message: "Generative Language API has not been used in project 000000000000 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/generativelanguage.googleapis.com/overview?project=000000000000 then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
			Details: []map[string]any{{"@type": typeErrorInfo, "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
				"metadata": map[string]any{"consumer": "projects/000000000000", "service": "generativelanguage.googleapis.com"}}}}, true
	case KindNotFound:
		return modelNotFound(model, "generateContent"), true
	case KindInternal:
		return rpcStatus{Code: 500, Status: "INTERNAL", Message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"}, true
	case KindOverloaded:
		// The 2026 text; before 2026 it was "The model is overloaded. Please try again later."
		return rpcStatus{Code: 503, Status: "UNAVAILABLE", Message: "This model is currently experiencing high demand. Spikes in demand are usually temporary. Please try again later."}, true
	case KindLocation:
		return rpcStatus{Code: 400, Status: "FAILED_PRECONDITION", Message: "User location is not supported for the API use."}, true
	case KindDeadline:
		return rpcStatus{Code: 504, Status: "DEADLINE_EXCEEDED", Message: "Deadline expired before operation could complete."}, true
	}
	return rpcStatus{}, false
}

// genRequest is a validated generateContent call.
type genRequest struct {
	model    *modelSpec
	wire     wireRequest
	ratio    string
	size     string
	dims     dims
	thoughts bool
	prompt   string
	inImages int
	// lastPrompt is the text of the newest user turn and turn its number in the
	// conversation (1 without history): what the picture's label shows.
	lastPrompt string
	turn       int
	inTokens   int // text tokens
	search     searchTypes
	seed       *int64
}

func (s *Server) serveGenerate(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	ctx := r.Context()
	fault, faulty := s.faults.next(rt.model)
	if faulty {
		if st, ok := faultStatus(fault, rt.model); ok {
			writeStatus(w, st)
			return
		}
		switch fault.Kind {
		case KindBadGateway:
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(badGatewayHTML))
			return
		case KindHang:
			s.wait(ctx, math.MaxInt64)
			return
		case KindReset:
			resetConn(w)
			return
		case KindSlow:
			d := fault.Delay
			if d == 0 {
				d = defaultSlowDelay
			}
			if !s.wait(ctx, d) {
				return
			}
		}
	}
	m, ok := s.model(rt.model)
	if !ok {
		if rt.vertex {
			writeStatus(w, vertexModelNotFound(rt.full))
		} else {
			writeStatus(w, modelNotFound(rt.model, rt.action))
		}
		return
	}
	g, msg := s.validate(m, body, !rt.vertex)
	if msg != "" {
		writeStatus(w, invalidArgument(msg))
		return
	}
	images := 1
	if faulty && fault.Kind != KindSlow && fault.Kind != KindTruncated {
		images = 0
	}
	if dim, limit, wait, ok := s.quotas.admit(m.ID, s.clock(), images); !ok {
		writeStatus(w, quotaExceeded(dim, m.ID, limit, wait))
		return
	}
	if !s.wait(ctx, s.cfg.Latency) {
		return
	}
	resp := s.answer(g, fault, faulty)
	resp.ModelStatus = s.retiring(m.ID)
	if rt.action == "streamGenerateContent" {
		s.writeStream(w, resp)
		return
	}
	if faulty && fault.Kind == KindTruncated {
		b, _ := json.Marshal(resp)
		writeTruncated(w, b)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// validate parses and checks the request body; a non-empty string is the
// INVALID_ARGUMENT message. Signatures are enforced on the Gemini API only:
// Vertex documents that it does not reject missing ones.
func (s *Server) validate(m *modelSpec, body []byte, enforce bool) (*genRequest, string) {
	g := &genRequest{model: m}
	if err := json.Unmarshal(body, &g.wire); err != nil {
		return nil, "Invalid JSON payload received. " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if len(g.wire.Contents) == 0 {
		return nil, "* GenerateContentRequest.contents: contents is not specified\n"
	}
	cfg := g.wire.config()
	if cfg.CandidateCount > 1 {
		if m.Thinking { // the Gemini 3 image models word it without the id
			return nil, "Multiple candidates is not enabled for this model"
		}
		return nil, "Multiple candidates is not enabled for models/" + m.ID
	}
	var msg string
	if g.search, msg = checkTools(m, g.wire.Tools); msg != "" {
		return nil, msg
	}
	g.seed = cfg.Seed
	var firstImage *wireBlob
	for _, c := range g.wire.Contents {
		if c.Role == "model" {
			g.turn++
		} else {
			g.lastPrompt = ""
		}
		for _, p := range c.Parts {
			if p.Text != nil {
				g.inTokens += (len(*p.Text) + 3) / 4
			}
			if c.Role == "model" {
				continue
			}
			if p.Text != nil {
				g.prompt += *p.Text + "\n"
				g.lastPrompt += *p.Text + " "
			}
			if p.InlineData != nil && strings.HasPrefix(p.InlineData.MIMEType, "image/") || p.FileData != nil {
				g.inImages++
				if firstImage == nil && p.InlineData != nil {
					firstImage = p.InlineData
				}
			}
		}
	}
	g.turn++
	if g.inImages > m.MaxImages {
		return nil, fmt.Sprintf("Too many images in the request: %d images were provided, but models/%s supports at most %d input images.", g.inImages, m.ID, m.MaxImages)
	}
	g.size = cfg.size()
	if g.size == "" {
		g.size = defaultSize
	}
	table, ok := m.Sizes[g.size]
	if !ok {
		return nil, "* GenerateContentRequest.generation_config.image_config.image_size: image_size must be " + oneOf(m.sizes()) + ".\n"
	}
	g.ratio = cfg.ratio()
	if g.ratio == "" {
		g.ratio = matchRatio(m, firstImage)
	}
	if g.dims, ok = table[g.ratio]; !ok {
		return nil, "* GenerateContentRequest.generation_config.image_config.aspect_ratio: aspect_ratio must be " + oneOf(m.ratios()) + ".\n"
	}
	if msg := s.sign.checkHistory(m.ID, g.wire.Contents, enforce && m.EnforceSignatures); msg != "" {
		return nil, msg
	}
	if tc := cfg.ThinkingConfig; tc != nil && tc.ThinkingLevel != "" {
		if len(m.Levels) == 0 {
			return nil, "Thinking level is not supported for this model."
		}
		if !slices.Contains(m.Levels, tc.ThinkingLevel) {
			return nil, "Request contains an invalid argument." // what the API says for most bad values
		}
	}
	g.thoughts = m.Thinking && cfg.includeThoughts()
	return g, ""
}

func oneOf(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return "one of " + strings.Join(q[:len(q)-1], ", ") + ", or " + q[len(q)-1]
}

// matchRatio picks the supported ratio nearest the input image's shape, or
// 1:1 without one, as the docs describe the default.
func matchRatio(m *modelSpec, img *wireBlob) string {
	if img == nil {
		return "1:1"
	}
	data, err := decodeB64(img.Data)
	if err != nil {
		return "1:1"
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		return "1:1"
	}
	want := math.Log(float64(cfg.Width) / float64(cfg.Height))
	best, bestD := "1:1", math.Inf(1)
	for _, r := range m.ratios() {
		w, h := splitRatio(r)
		if d := math.Abs(math.Log(float64(w)/float64(h)) - want); d < bestD {
			best, bestD = r, d
		}
	}
	return best
}

// answer builds the 200 response for g, or the content-fault variant.
func (s *Server) answer(g *genRequest, f Fault, faulty bool) *wireResponse {
	m := g.model
	h := sha256.Sum256([]byte(m.ID + "\x00" + g.prompt))
	seed := binary.BigEndian.Uint64(h[:8])
	s.mu.Lock()
	s.serial++
	n := s.serial
	s.mu.Unlock()
	idh := sha256.Sum256(binary.BigEndian.AppendUint64(h[:], n))
	resp := &wireResponse{ModelVersion: m.ID, ResponseID: base64.RawURLEncoding.EncodeToString(idh[:16])}
	promptTokens := g.inTokens + g.inImages*m.InputImageTokens
	thoughtTokens := 0
	if m.Thinking {
		thoughtTokens = 120 + int(seed%240)
	}
	usage := &wireUsage{PromptTokenCount: promptTokens,
		PromptTokensDetails: []modalityCount{{"TEXT", g.inTokens}}}
	if g.inImages > 0 {
		usage.PromptTokensDetails = append(usage.PromptTokensDetails, modalityCount{"IMAGE", g.inImages * m.InputImageTokens})
	}
	resp.UsageMetadata = usage
	finish := func(extra int) {
		usage.CandidatesTokenCount += extra
		usage.ThoughtsTokenCount = thoughtTokens
		usage.TotalTokenCount = usage.PromptTokenCount + usage.CandidatesTokenCount + thoughtTokens
	}
	if faulty {
		switch f.Kind {
		case KindPromptBlocked:
			reason := f.Reason
			if reason == "" {
				reason = "PROHIBITED_CONTENT"
			}
			resp.PromptFeedback = &wirePromptFeedback{BlockReason: reason}
			usage.TotalTokenCount = usage.PromptTokenCount
			return resp
		case KindImageSafety, KindImageOther, KindImageProhibited:
			fr := finishFor[f.Kind]
			resp.Candidates = []wireCandidate{{FinishReason: fr[0], FinishMessage: fr[1]}}
			finish(0)
			return resp
		case KindNoImage:
			text := "I can describe the scene, but I wasn't able to create an image for this request."
			resp.Candidates = []wireCandidate{{FinishReason: "NO_IMAGE", Content: &wireContent{Role: "model",
				Parts: []wirePart{{Text: &text, ThoughtSignature: s.sign.signText(m.ID, text)}}}}}
			finish(len(text) / 4)
			return resp
		}
	}
	// The same seed and prompt give the same picture; consecutive seeds give different ones.
	pick := seed
	if g.seed != nil {
		pick += uint64(*g.seed)
	}
	variant := int(pick % numVariants)
	var parts []wirePart
	if g.thoughts {
		t1 := "**Planning the composition**\n\nI'm working out the layout, lighting and palette for the requested scene before rendering it."
		parts = append(parts, wirePart{Text: &t1, Thought: true})
		for i := range 1 + int(seed>>8%2) {
			d := draftDims(g.dims, i)
			png := s.images.get(imageKey{W: d.W, H: d.H, Variant: variant + i, Draft: true, Label: s.label("draft "+strconv.Itoa(i+1)+": ", g), Photo: s.cfg.Photo})
			parts = append(parts, wirePart{Thought: true, InlineData: &wireBlob{MIMEType: "image/png", Data: base64.StdEncoding.EncodeToString(png)}})
		}
		t2 := "**Refining the details**\n\nThe draft reads well; sharpening the focal point and finishing the final render."
		parts = append(parts, wirePart{Text: &t2, Thought: true})
	}
	text := "Here is the image you asked for."
	png := s.images.get(imageKey{W: g.dims.W, H: g.dims.H, Variant: variant, Label: s.label("", g), Photo: s.cfg.Photo})
	parts = append(parts,
		wirePart{Text: &text, ThoughtSignature: s.sign.signText(m.ID, text)},
		wirePart{InlineData: &wireBlob{MIMEType: "image/png", Data: base64.StdEncoding.EncodeToString(png)},
			ThoughtSignature: s.sign.signImage(m.ID, png)})
	resp.Candidates = []wireCandidate{{Content: &wireContent{Role: "model", Parts: parts}, FinishReason: "STOP",
		GroundingMetadata: groundingFor(g)}}
	imgTokens, textTokens := m.Tokens[g.size], (len(text)+3)/4
	usage.CandidatesTokensDetails = []modalityCount{{"IMAGE", imgTokens}, {"TEXT", textTokens}}
	finish(imgTokens + textTokens)
	return resp
}

// writeStream sends resp as SSE: one part per event, image parts whole, the
// last event carrying finishReason and usage.
func (s *Server) writeStream(w http.ResponseWriter, resp *wireResponse) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	send := func(v *wireResponse) {
		b, _ := json.Marshal(v)
		_, _ = w.Write([]byte("data: "))
		_, _ = w.Write(b)
		_, _ = w.Write([]byte("\r\n\r\n"))
		flush()
	}
	if len(resp.Candidates) == 0 || resp.Candidates[0].Content == nil || len(resp.Candidates[0].Content.Parts) < 2 {
		send(resp)
		return
	}
	c := resp.Candidates[0]
	parts := c.Content.Parts
	for i, p := range parts {
		chunk := &wireResponse{ModelVersion: resp.ModelVersion, ResponseID: resp.ResponseID,
			Candidates: []wireCandidate{{Content: &wireContent{Role: "model", Parts: []wirePart{p}}}}}
		if i == len(parts)-1 {
			chunk.Candidates[0].FinishReason = c.FinishReason
			chunk.UsageMetadata = resp.UsageMetadata
			chunk.ModelStatus = resp.ModelStatus
		} else {
			chunk.UsageMetadata = &wireUsage{PromptTokenCount: resp.UsageMetadata.PromptTokenCount,
				TotalTokenCount: resp.UsageMetadata.PromptTokenCount}
		}
		send(chunk)
	}
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a reset rather than a clean EOF.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not hijackable (HTTP/2): abort the stream instead
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeTruncated sends valid headers announcing the full body, then half of
// it, then closes the connection.
func writeTruncated(w http.ResponseWriter, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	_ = buf.Flush()
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n", len(body))
	_, _ = bw.Write(body[:len(body)/2])
	_ = bw.Flush()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
}
