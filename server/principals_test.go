package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseTokens(t *testing.T) {
	good := "# one token per workspace\n\nalice = tok-alice-0123\nbob=tok-bob-4567 \n  # trailing comment\n"
	ps, err := ParseTokens([]byte(good))
	if err != nil || len(ps) != 2 || ps[0] != (Principal{"alice", "tok-alice-0123"}) || ps[1] != (Principal{"bob", "tok-bob-4567"}) {
		t.Fatalf("ParseTokens = %+v, %v", ps, err)
	}
	for _, tc := range []struct{ file, want string }{
		{"alice=secret-a\njust-a-token-secret\n", "line 2 is not name=token"},
		{"alice=secret-a\n\n=secret-b\n", "line 3: the name must be"},
		{"alice=\n", "line 1: the token of alice is empty"},
		{"local=secret-a\n", `line 1: the name "local" is reserved`},
		{"alice=secret-a\nalice=secret-b\n", "line 2: alice is already named on line 1"},
		{"alice=secret-a\nbob=secret-a\n", "line 2: the token of bob is the same as the one on line 1"},
		{"al ice=secret-a\n", "line 1: the name must be"},
		{"alice=sec ret-a\n", "line 1: the token of alice contains white space"},
		{"# nothing\n", "no name=token line"},
	} {
		_, err := ParseTokens([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.file, err, tc.want)
			continue
		}
		for _, secret := range []string{"secret-a", "secret-b", "sec ret-a"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error quotes a token: %v", tc.file, err)
			}
		}
	}
}

func TestEveryNamedTokenIsAccepted(t *testing.T) {
	r := serve(t, newTestTools(), Security{Token: "single", Principals: []Principal{{"alice", "tok-a"}, {"bob", "tok-b"}}}, time.Second)
	for token, want := range map[string]int{"single": 200, "tok-a": 200, "tok-b": 200, "tok-c": 401, "": 401} {
		req, _ := http.NewRequest(http.MethodPost, r.url+"/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}
