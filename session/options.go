package session

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"
)

// MaxHistoryMB is the largest history budget in MiB: DefaultBudget, what Gemini accepts with a
// margin, so a larger value would be silently lowered.
var MaxHistoryMB = int(DefaultBudget.MaxBytes >> 20)

// StoreOptions are the operator's choices about what outlives a call: where images and the
// store go, how long conversations are kept and how much history a turn replays. Validation
// errors name the flags that set them, the words the operator knows.
type StoreOptions struct {
	OutputDir   string        // saved images, a directory users browse; empty: see ResolveDirs
	StoreDir    string        // the server's own state (Layout); empty: see ResolveDirs
	ShareImages bool          // images readable by other users (0644 in 0755) instead of private
	ConvTTL     time.Duration // conversations unused this long are deleted
	HistTurns   int           // turns a conversation replays
	HistMB      int           // request size in MiB before a turn's history is trimmed
	// Store is where what outlives a call is kept: "" for files under StoreDir, or a
	// redis:// (rediss:// for TLS) URL that several replicas share (see RedisStore).
	Store string
}

// Shared reports whether the store is one several replicas share (--store redis://).
func (o StoreOptions) Shared() bool { return o.Store != "" }

// DefaultStoreOptions are the defaults of StoreOptions.
func DefaultStoreOptions() StoreOptions {
	return StoreOptions{ConvTTL: DefaultTTL, HistTurns: DefaultBudget.MaxTurns, HistMB: MaxHistoryMB}
}

// Validate reports every bad value, one sentence each. It reads nothing and fills nothing:
// ResolveDirs does that first.
func (o StoreOptions) Validate() error {
	var p []error
	if o.ConvTTL <= 0 {
		p = append(p, errors.New("--conversation-ttl must be a positive duration such as 168h"))
	}
	if o.HistTurns < 1 || o.HistMB < 1 {
		p = append(p, errors.New("--history-turns and --history-mb must be at least 1"))
	}
	if o.HistMB > MaxHistoryMB {
		p = append(p, fmt.Errorf("--history-mb is %d but can be at most %d (Gemini refuses requests over 100 MB); use %d or less",
			o.HistMB, MaxHistoryMB, MaxHistoryMB))
	}
	if o.Store != "" {
		if _, _, err := parseRedisURL(o.Store); err != nil {
			p = append(p, fmt.Errorf("--store: %w", err))
		}
	}
	return errors.Join(p...)
}

// Budget is how much history a turn may replay.
func (o StoreOptions) Budget() Budget {
	return Budget{MaxTurns: o.HistTurns, MaxBytes: int64(o.HistMB) << 20}
}

// Layout is where the server's state lives inside the store directory.
func (o StoreOptions) Layout() Layout { return Layout{Dir: o.StoreDir} }

// ResolveDirs decides the data-directory layout where the operator left it open: images in
// <data>/images and the store in <data>/conversations, <data> being DataDir; with no data
// directory, the store goes inside the images directory given (.conversations). The images
// directory is made absolute.
func (o *StoreOptions) ResolveDirs(getenv func(string) string) error {
	if o.Store != "" && o.StoreDir != "" { // it would be silently unused
		return errors.New("--store-dir and --store both name where conversations are kept; with --store redis:// everything is in Redis, so drop --store-dir")
	}
	data := DataDir(getenv)
	if o.OutputDir == "" && data != "" {
		o.OutputDir = filepath.Join(data, "images")
	}
	if o.OutputDir == "" {
		return errors.New("no data directory could be found for images; set --output-dir or NANOBANANA_OUTPUT_DIR")
	}
	if abs, err := filepath.Abs(o.OutputDir); err == nil {
		o.OutputDir = abs
	}
	if o.StoreDir == "" {
		if data != "" {
			o.StoreDir = filepath.Join(data, "conversations")
		} else {
			o.StoreDir = filepath.Join(o.OutputDir, ".conversations")
		}
	}
	return nil
}

// DataDir is the server's directory under the user's data directory, never the working
// directory (an MCP client's working directory is often / or the app bundle); empty when the
// environment names no such directory.
func DataDir(getenv func(string) string) string {
	const sub = "nanobanana-mcp"
	switch runtime.GOOS {
	case "windows":
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, sub)
		}
	case "darwin":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support", sub)
		}
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, sub)
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", sub)
	}
	return ""
}
