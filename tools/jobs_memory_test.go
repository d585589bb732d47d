package tools

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// A finished job's image result lives in its file, not in memory, and still comes back whole,
// also after a restart.
func TestJobResultsWithImagesStayOnDisk(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJobs(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("jpeg", 64<<10)))
	jb, _ := j.start("generate_image", "", 1, func(context.Context) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent("done"), mcp.NewImageContent(img, "image/jpeg")}}
	})
	check := func(j *Jobs, id string) {
		t.Helper()
		res := j.wait(context.Background(), jb, time.Minute)
		if res == nil || len(res.Content) != 2 {
			t.Fatalf("result %+v", res)
		}
		if got, ok := mcp.AsImageContent(res.Content[1]); !ok || got.Data != img {
			t.Fatal("the image did not come back whole")
		}
		held, _ := j.get(id)
		j.mu.Lock()
		defer j.mu.Unlock()
		if len(held.Result) != 0 {
			t.Errorf("the job holds a %d-byte result in memory", len(held.Result))
		}
	}
	check(j, jb.ID)
	j2, err := OpenJobs(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ = j2.get(jb.ID)
	check(j2, jb.ID)
}
