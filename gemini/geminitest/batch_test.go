package geminitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

// jsonlLine is one input line of a file batch, in the wire format the docs give.
func jsonlLine(key, prompt, size string) string {
	b, _ := json.Marshal(map[string]any{"key": key, "request": map[string]any{
		"contents":         []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": prompt}}}},
		"generationConfig": map[string]any{"responseModalities": []string{"TEXT", "IMAGE"}, "imageConfig": map[string]any{"imageSize": size}},
	}})
	return string(b)
}

// A JSONL file batch through the real SDK: resumable upload, states over simulated time, file
// output with one response or error per line, and download.
func TestBatchFileThroughSDK(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	srv, c := newSim(t, Config{Clock: clock.now, BatchQueue: 10 * time.Second, BatchRun: time.Minute})
	ctx := context.Background()
	input := strings.Join([]string{jsonlLine("a", "a cat", "1K"), jsonlLine("b", "a dog", "3K"), jsonlLine("c", "a fox", "2K")}, "\n")
	srv.FailBatchRequest("c", ImageSafety())
	f, err := c.Files.Upload(ctx, strings.NewReader(input), &genai.UploadFileConfig{MIMEType: "application/jsonl", DisplayName: "in"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if f.State != genai.FileStateActive || f.SizeBytes == nil || *f.SizeBytes != int64(len(input)) {
		t.Fatalf("uploaded file: %+v", f)
	}
	job, err := c.Batches.Create(ctx, "gemini-3-pro-image", &genai.BatchJobSource{FileName: f.Name}, &genai.CreateBatchJobConfig{DisplayName: "t"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if job.State != genai.JobStatePending || !strings.HasPrefix(job.Name, "batches/") {
		t.Fatalf("created: %+v", job)
	}
	clock.add(30 * time.Second)
	if job, _ = c.Batches.Get(ctx, job.Name, nil); job.State != genai.JobStateRunning {
		t.Fatalf("after 30 s: %s", job.State)
	}
	clock.add(time.Minute)
	if job, err = c.Batches.Get(ctx, job.Name, nil); err != nil || job.State != genai.JobStateSucceeded || job.Dest == nil || job.Dest.FileName == "" {
		t.Fatalf("after 90 s: %+v %v", job, err)
	}
	data, err := c.Files.Download(ctx, genai.NewDownloadURIFromFile(&genai.File{Name: job.Dest.FileName, DownloadURI: job.Dest.FileName}), nil)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	var got []string
	for sc.Scan() {
		var line struct {
			Key      string                         `json:"key"`
			Response *genai.GenerateContentResponse `json:"response"`
			Error    *genai.JobError                `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		switch {
		case line.Error != nil:
			got = append(got, line.Key+":error")
		case line.Response.Candidates[0].FinishReason != genai.FinishReasonStop:
			got = append(got, line.Key+":"+string(line.Response.Candidates[0].FinishReason))
		default:
			got = append(got, line.Key+":ok")
		}
	}
	if want := "a:ok b:error c:IMAGE_SAFETY"; strings.Join(got, " ") != want {
		t.Errorf("lines %v, want %s", got, want)
	}
}

// Inline batches answer inlinedResponses; cancel stops a running batch; a batch that would run
// past the expiry ends EXPIRED.
func TestBatchInlineCancelExpire(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	srv, c := newSim(t, Config{Clock: clock.now, BatchQueue: time.Second, BatchRun: time.Second})
	ctx := context.Background()
	req := &genai.InlinedRequest{Contents: genai.Text("a lighthouse"), Metadata: map[string]string{"key": "x"},
		Config: &genai.GenerateContentConfig{ResponseModalities: []string{"TEXT", "IMAGE"}}}
	job, err := c.Batches.Create(ctx, "gemini-3-pro-image", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{req}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(5 * time.Second)
	job, _ = c.Batches.Get(ctx, job.Name, nil)
	if job.State != genai.JobStateSucceeded || len(job.Dest.InlinedResponses) != 1 || job.Dest.InlinedResponses[0].Metadata["key"] != "x" {
		t.Fatalf("inline: %+v", job.Dest)
	}
	if job.Dest.InlinedResponses[0].Response == nil || len(job.Dest.InlinedResponses[0].Response.Candidates) == 0 {
		t.Fatalf("inline response missing")
	}

	srv.setBatchRun(time.Hour)
	job, _ = c.Batches.Create(ctx, "gemini-3-pro-image", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{req}}, nil)
	clock.add(time.Minute)
	if err := c.Batches.Cancel(ctx, job.Name, nil); err != nil {
		t.Fatal(err)
	}
	if job, _ = c.Batches.Get(ctx, job.Name, nil); job.State != genai.JobStateCancelled {
		t.Fatalf("cancelled: %s", job.State)
	}

	srv.setBatchRun(72 * time.Hour)
	job, _ = c.Batches.Create(ctx, "gemini-3-pro-image", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{req}}, nil)
	clock.add(49 * time.Hour)
	if job, _ = c.Batches.Get(ctx, job.Name, nil); job.State != genai.JobStateExpired {
		t.Fatalf("expired: %s", job.State)
	}
	if srv.BatchCount() != 3 {
		t.Errorf("batch count %d", srv.BatchCount())
	}
}

// The control endpoint moves simulated time for a simulator running as its own process.
func TestControlAdvance(t *testing.T) {
	srv, c := newSim(t, Config{Control: true, BatchQueue: time.Minute, BatchRun: time.Minute})
	ctx := context.Background()
	req := &genai.InlinedRequest{Contents: genai.Text("a boat")}
	job, err := c.Batches.Create(ctx, "gemini-3-pro-image", &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{req}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL()+"_simulator/advance?by=3m", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("advance: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if job, _ = c.Batches.Get(ctx, job.Name, nil); job.State != genai.JobStateSucceeded {
		t.Errorf("after advancing 3m: %s", job.State)
	}
}

func (s *Server) setBatchRun(d time.Duration) {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	s.cfg.BatchRun = d
}
