package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/nanobanana-mcp/nanobanana-mcp/gemini/geminitest"
	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// Three server processes share one Redis (--store redis://…), one image volume (--output-dir)
// and one simulator process, behind a round-robin proxy with no session affinity, and are
// driven by stateless (2026-07-28) mcp-go clients of two principals. What a team running
// replicas relies on:
//   - a conversation started on one replica is continued on another, its thought signatures
//     intact (the simulator refuses a replayed turn whose signature is not its own);
//   - a background job and a signed image URL made on one replica are fetched from another;
//   - the replicas share --rpm: a burst of twice the limit sends exactly the limit upstream and
//     Gemini (the simulator, holding the same quota) answers no 429;
//   - a replica killed with SIGKILL mid-edit loses nothing already recorded; once its lease
//     (--job-lease) runs out the conversation it was editing continues on another replica and
//     the job it was running is reported as interrupted;
//   - the principals stay apart on every replica.
func TestReplicasShareOneRedis(t *testing.T) {
	redisURL := redistest.URL(t) // skips with one line without redis-server, fails under NANOBANANA_REDIS=1
	simURL := startSimulatorProcess(t)
	// The other steps make 7 calls to the default model, within the same --rpm.
	const burstModel, burstRPM = "gemini-2.5-flash-image", 10
	sim := simControl{t: t, url: strings.TrimSuffix(simURL, "/")}
	sim.post(fmt.Sprintf("/_simulator/quota?model=%s&rpm=%d", burstModel, burstRPM))

	work := t.TempDir()
	images := filepath.Join(work, "images") // the shared image volume
	tokens := filepath.Join(work, "tokens")
	if err := os.WriteFile(tokens, []byte("alice=alice-token-0123456789\nbob=bob-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lb := newRoundRobin(t)
	var replicas []*replica
	for i := range 3 { // each with a HOME of its own: only Redis and the image volume are shared
		home := filepath.Join(work, fmt.Sprintf("home-%d", i))
		r := startReplica(t, i, []string{"HOME=" + home, "GEMINI_API_KEY=sim-key", "GOOGLE_GEMINI_BASE_URL=" + simURL},
			"--transport", "http", "--addr", "127.0.0.1:0", "--auth-tokens-file", tokens,
			"--store", redisURL, "--output-dir", images,
			"--public-url", lb.URL(), "--rpm", fmt.Sprint(burstRPM), "--fallback", "none", "--call-timeout", "20s",
			"--job-lease", "2s")
		replicas = append(replicas, r)
		lb.add(r.addr)
	}
	alice := statelessClient(t, lb.URL(), "alice-token-0123456789")
	bob := statelessClient(t, lb.URL(), "bob-token-0123456789")

	// Generate on one replica, edit on another: the history, signatures and image bytes of
	// turn 1 come from Redis and the shared volume.
	gen := call(t, alice, "generate_image", map[string]any{"prompt": "a red fox", "output": "path"})
	genAt := lb.lastCall()
	conv := str(gen, "conversation_id")
	edit := call(t, alice, "edit_image", map[string]any{"conversation_id": conv, "prompt": "make the fox blue", "output": "path"})
	if at := lb.lastCall(); at == genAt {
		t.Fatalf("the edit was served by replica %d, which also generated; the proxy must spread calls", at)
	}
	if str(edit, "conversation_id") != conv || str(edit, "image_id") == "" || str(edit, "image_id") == str(gen, "image_id") {
		t.Fatalf("the edit on another replica did not continue the conversation: %v", edit)
	}
	assertTurns(t, alice, conv, 2)

	// An async job started on one replica is fetched from another; the same idempotency key
	// on a third answers the same job instead of paying twice.
	job := call(t, alice, "generate_image", map[string]any{"prompt": "a lighthouse", "async": true, "idempotency_key": "lh-1"})
	jobAt := lb.lastCall()
	again := call(t, alice, "generate_image", map[string]any{"prompt": "a lighthouse", "async": true, "idempotency_key": "lh-1"})
	if str(again, "job_id") != str(job, "job_id") || lb.lastCall() == jobAt {
		t.Errorf("the idempotency key on another replica started job %q, want %q", str(again, "job_id"), str(job, "job_id"))
	}
	done := call(t, alice, "get_generation", map[string]any{"job_id": str(job, "job_id"), "wait_seconds": 20})
	if lb.lastCall() == jobAt || str(done, "image_id") == "" {
		t.Errorf("get_generation on replica %d (job started on %d): %v", lb.lastCall(), jobAt, done)
	}

	// A signed URL made by one replica works on every other (shared secret, shared volume).
	linked := call(t, alice, "generate_image", map[string]any{"prompt": "a kite", "output": "url"})
	linkAt := lb.lastCall()
	want, err := os.ReadFile(str(linked, "path"))
	if err != nil {
		t.Fatalf("the image behind the URL: %v", err)
	}
	for i, r := range replicas {
		if i != linkAt {
			if got := fetch(t, str(linked, "url"), r.addr); !bytes.Equal(got, want) {
				t.Errorf("replica %d served %d bytes for a URL replica %d signed, want the %d saved", i, len(got), linkAt, len(want))
			}
		}
	}

	// Two principals stay apart on every replica: alice's ids answer bob as unknown ids do,
	// while alice reads her image, made on one replica, as a resource on each.
	for _, r := range replicas {
		aliceAt := statelessClient(t, "http://"+r.addr, "alice-token-0123456789")
		bobAt := statelessClient(t, "http://"+r.addr, "bob-token-0123456789")
		sameAsUnknownID(t, bobAt, "edit_image", func(id string) map[string]any {
			return map[string]any{"conversation_id": id, "prompt": "steal it"}
		}, conv, "c_bbbbbbbbbbbbbbbb")
		sameAsUnknownID(t, bobAt, "get_generation", func(id string) map[string]any { return map[string]any{"job_id": id} },
			str(job, "job_id"), "job_bbbbbbbbbbbbbbbb")
		img := str(gen, "image_id")
		_, errTheirs := readImage(aliceAt, img)
		if errTheirs != nil {
			t.Errorf("alice cannot read image://%s on replica %s: %v", img, r.addr, errTheirs)
		}
		_, errTheirs = readImage(bobAt, img)
		_, errUnknown := readImage(bobAt, "img_bbbbbbbbbbbbbbbb")
		if errTheirs == nil || errUnknown == nil || strings.ReplaceAll(errTheirs.Error(), img, "img_bbbbbbbbbbbbbbbb") != errUnknown.Error() {
			t.Errorf("bob read alice's image://%s on replica %s: %v (an unknown image: %v)", img, r.addr, errTheirs, errUnknown)
		}
	}
	if listed := call(t, bob, "list_conversations", map[string]any{"all": true}); strings.Contains(fmt.Sprint(listed), conv) {
		t.Errorf("bob lists alice's conversation: %v", listed)
	}

	// A burst of twice --rpm across the replicas: exactly --rpm go upstream, the rest are
	// refused here with the wait named, and Gemini answers no 429.
	results := make([]*mcp.CallToolResult, 2*burstRPM)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = rawCall(t, alice, "generate_image", map[string]any{"prompt": fmt.Sprintf("burst %d", i), "model": "nano-banana", "output": "path"})
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, res := range results {
		switch {
		case res == nil:
		case !res.IsError:
			ok++
		case strings.Contains(resultText(res), "used up here"):
			refused++
		default:
			t.Errorf("a burst call failed otherwise: %s", resultText(res))
		}
	}
	stats := sim.stats()
	if ok != burstRPM || refused != burstRPM || stats[burstModel]["429"] != 0 || stats[burstModel]["200"] != burstRPM {
		t.Errorf("burst of %d with --rpm %d on 3 replicas: %d made, %d refused here; Gemini answered %v (want %d×200, no 429)",
			len(results), burstRPM, ok, refused, stats[burstModel], burstRPM)
	}

	// SIGKILL a replica while it runs a background job and a call.
	sim.post("/_simulator/enqueue?fault=gemini-nano-banana-2.1:hangx2")
	lost := call(t, alice, "generate_image", map[string]any{"prompt": "never finished", "async": true})
	doomed := replicas[lb.lastCall()]
	direct := statelessClient(t, "http://"+doomed.addr, "alice-token-0123456789")
	midCall := make(chan error, 1)
	go func() {
		var req mcp.CallToolRequest
		req.Params.Name = "edit_image"
		req.Params.Arguments = map[string]any{"conversation_id": conv, "prompt": "cut short"}
		_, err := direct.CallTool(context.Background(), req)
		midCall <- err
	}()
	sim.waitInFlight(2)
	doomed.kill(t)
	if err := <-midCall; err == nil {
		t.Error("the call on the killed replica answered")
	}
	assertTurns(t, alice, conv, 2) // turn 3 was never recorded, turns 1 and 2 are intact
	third := call(t, alice, "edit_image", map[string]any{"conversation_id": conv, "prompt": "add a moon", "output": "path"})
	if str(third, "conversation_id") != conv {
		t.Errorf("continuing after the kill: %v", third)
	}
	assertTurns(t, alice, conv, 3)
	if got := fetch(t, str(linked, "url"), ""); !bytes.Equal(got, want) {
		t.Errorf("the signed URL through the proxy after the kill: %d bytes", len(got))
	}
	for model, codes := range sim.stats() {
		if codes["429"] > 0 {
			t.Errorf("Gemini answered %d calls to %s with 429: the replicas overspent the shared quota", codes["429"], model)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := rawCall(t, alice, "get_generation", map[string]any{"job_id": str(lost, "job_id")})
		if res.IsError {
			if text := resultText(res); !strings.Contains(text, "did not finish") {
				t.Errorf("the killed replica's job: %s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed replica's job is still reported running 15 s later: %s", resultText(res))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// replica is one server process of the test.
type replica struct {
	cmd  *exec.Cmd
	addr string
	logs *lockedBuffer
}

// startReplica runs this binary as an HTTP server and waits for it to listen; its log is
// printed if the test fails.
func startReplica(t *testing.T, i int, environ []string, args ...string) *replica {
	t.Helper()
	r := &replica{logs: &lockedBuffer{}}
	t.Cleanup(func() { // registered first, so it runs after the process has stopped
		if t.Failed() {
			t.Logf("replica %d log (last 30 lines):\n%s", i, tail(r.logs.String(), 30))
		}
	})
	cmd, stderr := startProcess(t, (*exec.Cmd).StderrPipe, environ, append(args, "--log-level", "info")...)
	r.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.logs.WriteString(sc.Text() + "\n")
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("replica %d stopped before listening:\n%s", i, r.logs.String())
		}
		r.addr = a
	case <-time.After(20 * time.Second):
		t.Fatalf("replica %d did not listen within 20 s:\n%s", i, r.logs.String())
	}
	return r
}

// kill ends the process with SIGKILL: no shutdown, no lease released.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = r.cmd.Process.Wait()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// statelessClient is an mcp-go Streamable HTTP client speaking the 2026-07-28 protocol: no
// session, so every call may land on any replica.
func statelessClient(t *testing.T, base, token string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(base+"/mcp",
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := initialize(ctx, c, "", "replica-test")
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ProtocolVersion != mcp.LATEST_PROTOCOL_VERSION {
		t.Fatalf("negotiated %s, want the stateless %s", res.ProtocolVersion, mcp.LATEST_PROTOCOL_VERSION)
	}
	return c
}

// rawCall runs a tool call; a protocol error fails the test, a tool error is returned.
func rawCall(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req mcp.CallToolRequest
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return &mcp.CallToolResult{IsError: true}
	}
	return res
}

// call runs a tool call that must succeed and returns its structured result.
func call(t *testing.T, c *client.Client, name string, args map[string]any) map[string]any {
	t.Helper()
	res := rawCall(t, c, name, args)
	if res.IsError {
		t.Fatalf("%s: %s", name, resultText(res))
	}
	var out map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &out)
	return out
}

func resultText(res *mcp.CallToolResult) string { return firstText(res) }

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// sameAsUnknownID checks that naming another principal's id fails exactly as naming an id
// that does not exist.
func sameAsUnknownID(t *testing.T, c *client.Client, name string, args func(id string) map[string]any, theirs, unknown string) {
	t.Helper()
	got, want := rawCall(t, c, name, args(theirs)), rawCall(t, c, name, args(unknown))
	if !got.IsError || strings.ReplaceAll(resultText(got), theirs, unknown) != resultText(want) {
		t.Errorf("%s with another principal's id answered\n  %q\nan unknown id answers\n  %q", name, resultText(got), resultText(want))
	}
}

func readImage(c *client.Client, id string) (*mcp.ReadResourceResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var req mcp.ReadResourceRequest
	req.Params.URI = "image://" + id
	return c.ReadResource(ctx, req)
}

// assertTurns checks the conversation's recorded turns as its owner lists them.
func assertTurns(t *testing.T, c *client.Client, conv string, want int) {
	t.Helper()
	var listed struct {
		Conversations []struct {
			ConversationID string `json:"conversation_id"`
			Turns          int    `json:"turns"`
		} `json:"conversations"`
	}
	raw, _ := json.Marshal(call(t, c, "list_conversations", map[string]any{"all": true, "limit": 100}))
	_ = json.Unmarshal(raw, &listed)
	for _, cv := range listed.Conversations {
		if cv.ConversationID == conv {
			if cv.Turns != want {
				t.Errorf("conversation %s has %d turns, want %d", conv, cv.Turns, want)
			}
			return
		}
	}
	t.Errorf("conversation %s is not listed: %s", conv, raw)
}

// fetch GETs a signed image URL, sent to host when given (another replica) instead of the
// URL's own (the proxy).
func fetch(t *testing.T, link, host string) []byte {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("image URL %q: %v", link, err)
	}
	if host != "" {
		u.Host = host
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return body
}

// simControl drives the simulator process through its control endpoints.
type simControl struct {
	t   *testing.T
	url string
}

func (s simControl) post(path string) {
	s.t.Helper()
	resp, err := http.Post(s.url+path, "", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, body)
	}
}

func (s simControl) stats() map[string]map[string]int {
	s.t.Helper()
	resp, err := http.Get(s.url + "/_simulator/stats")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st geminitest.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st.Generate
}

// waitInFlight polls until n generateContent calls are being held by the simulator.
func (s simControl) waitInFlight(n int) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.url + "/_simulator/stats")
		if err != nil {
			s.t.Fatal(err)
		}
		var st geminitest.Stats
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.InFlight >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d generateContent calls in flight after 10 s, want %d", st.InFlight, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
