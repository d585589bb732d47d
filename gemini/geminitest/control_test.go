package geminitest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
)

func control(t *testing.T, srv *Server, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A simulator in its own process is scripted over HTTP: a quota set through /_simulator/quota
// answers 429 past its limit, a fault queued through /_simulator/enqueue hits the next call,
// and /_simulator/stats counts the answers by model and status.
func TestControlEndpoints(t *testing.T) {
	srv, c := newSim(t, Config{Control: true, RecordLimit: -1})
	const model = "gemini-2.5-flash-image"
	if code, body := control(t, srv, http.MethodPost, "_simulator/quota?model="+model+"&rpm=2"); code != 200 {
		t.Fatalf("quota: %d %s", code, body)
	}
	if code, body := control(t, srv, http.MethodPost, "_simulator/enqueue?fault="+model+":503x1"); code != 200 {
		t.Fatalf("enqueue: %d %s", code, body)
	}
	var errs []error
	for range 4 {
		_, err := c.Models.GenerateContent(context.Background(), model, genai.Text("a pear"), imageConfig("1:1", "", false))
		errs = append(errs, err)
	}
	var api genai.APIError
	if !errors.As(errs[0], &api) || api.Code != 503 {
		t.Errorf("call 1 (queued 503): %v", errs[0])
	}
	if errs[1] != nil || errs[2] != nil {
		t.Errorf("calls 2 and 3 are within rpm=2: %v, %v", errs[1], errs[2])
	}
	if !errors.As(errs[3], &api) || api.Code != 429 {
		t.Errorf("call 4 is over rpm=2: %v", errs[3])
	}
	if st := stats(t, srv); st.Generate[model]["200"] != 2 || st.Generate[model]["429"] != 1 || st.Generate[model]["503"] != 1 || st.InFlight != 0 {
		t.Errorf("stats %+v, want 2×200, 1×429, 1×503 and none in flight", st)
	}

	control(t, srv, http.MethodPost, "_simulator/enqueue?fault="+model+":hang")
	ctx, cancel := context.WithCancel(context.Background())
	hung := make(chan error, 1)
	go func() {
		_, err := c.Models.GenerateContent(ctx, model, genai.Text("a pear"), nil)
		hung <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); stats(t, srv).InFlight != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hung call is not counted in flight")
		}
	}
	cancel()
	if err := <-hung; err == nil {
		t.Error("a queued hang answered")
	}
	for deadline := time.Now().Add(5 * time.Second); stats(t, srv).Generate[model]["0"] != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned call is not counted as unanswered: %+v", stats(t, srv))
		}
	}

	for _, bad := range []string{"enqueue?fault=hang", "enqueue?fault=m:503@0.5", "enqueue?fault=m:teapot", "quota?rpm=1", "quota?model=m&rpm=-1", "nope"} {
		code, body := control(t, srv, http.MethodPost, "_simulator/"+bad)
		if code < 400 || !strings.Contains(body, "_simulator/") && !strings.Contains(body, "Unknown simulator control") {
			t.Errorf("%s: %d %s, want a refusal saying how to call it", bad, code, body)
		}
	}
}

func stats(t *testing.T, srv *Server) Stats {
	t.Helper()
	_, body := control(t, srv, http.MethodGet, "_simulator/stats")
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
