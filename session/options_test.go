package session

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The defaults pass and give the largest budget Gemini accepts; each bad value is refused in
// one sentence naming its flag.
func TestStoreOptionsValidate(t *testing.T) {
	o := DefaultStoreOptions()
	if err := o.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if o.Budget() != DefaultBudget {
		t.Errorf("default budget %+v, want %+v", o.Budget(), DefaultBudget)
	}
	for _, tc := range []struct {
		want   string
		change func(*StoreOptions)
	}{
		{"--conversation-ttl must be a positive duration such as 168h", func(o *StoreOptions) { o.ConvTTL = -time.Hour }},
		{"--history-turns and --history-mb must be at least 1", func(o *StoreOptions) { o.HistTurns = 0 }},
		{"--history-turns and --history-mb must be at least 1", func(o *StoreOptions) { o.HistMB = 0 }},
		{"--history-mb is 97 but can be at most 96 (Gemini refuses requests over 100 MB); use 96 or less",
			func(o *StoreOptions) { o.HistMB = 97 }},
	} {
		o := DefaultStoreOptions()
		tc.change(&o)
		if err := o.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// One place decides where images and the server's state go when the operator does not say.
func TestResolveDirs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the data directory is per platform; this table is Linux's")
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name                string
		given               StoreOptions
		getenv              func(string) string
		wantImages, wantDir string
	}{
		{"home", StoreOptions{}, env("HOME", "/home/u"),
			"/home/u/.local/share/nanobanana-mcp/images", "/home/u/.local/share/nanobanana-mcp/conversations"},
		{"XDG_DATA_HOME wins", StoreOptions{}, env("HOME", "/home/u", "XDG_DATA_HOME", "/xdg"),
			"/xdg/nanobanana-mcp/images", "/xdg/nanobanana-mcp/conversations"},
		{"output dir given", StoreOptions{OutputDir: "/srv/out"}, env("HOME", "/home/u"),
			"/srv/out", "/home/u/.local/share/nanobanana-mcp/conversations"},
		{"no data directory", StoreOptions{OutputDir: "/srv/out"}, env(),
			"/srv/out", "/srv/out/.conversations"},
		{"both given", StoreOptions{OutputDir: "/srv/out", StoreDir: "/srv/state"}, env("HOME", "/home/u"),
			"/srv/out", "/srv/state"},
	} {
		o := tc.given
		if err := o.ResolveDirs(tc.getenv); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if o.OutputDir != tc.wantImages || o.StoreDir != tc.wantDir {
			t.Errorf("%s: images %s, store %s; want %s, %s", tc.name, o.OutputDir, o.StoreDir, tc.wantImages, tc.wantDir)
		}
		if o.Layout().Jobs() != filepath.Join(tc.wantDir, "jobs") {
			t.Errorf("%s: jobs at %s, not inside the store", tc.name, o.Layout().Jobs())
		}
	}
	var o StoreOptions
	const want = "no data directory could be found for images; set --output-dir or NANOBANANA_OUTPUT_DIR"
	if err := o.ResolveDirs(env()); err == nil || err.Error() != want {
		t.Errorf("nowhere to put images: %v", err)
	}
	// With Redis a --store-dir would be silently unused: refused instead.
	both := StoreOptions{Store: "redis://127.0.0.1:6390/0", StoreDir: "/srv/state", OutputDir: "/srv/out"}
	if err := both.ResolveDirs(env("HOME", "/home/u")); err == nil || !strings.Contains(err.Error(), "drop --store-dir") {
		t.Errorf("--store with --store-dir: %v, want a refusal that says to drop --store-dir", err)
	}
}
