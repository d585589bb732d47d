package resilience

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/atomicfile"
)

// pacific is where Gemini's daily quotas reset at midnight.
var pacific = loadPacific()

func loadPacific() *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		// Without zoneinfo we cannot follow DST; standard time resets an hour late in
		// summer, which errs on the side of waiting.
		return time.FixedZone("PST", -8*3600)
	}
	return loc
}

// pacificDay names the quota day t falls in.
func pacificDay(t time.Time) string { return t.In(pacific).Format(time.DateOnly) }

// untilPacificMidnight is how long until the next daily reset.
func untilPacificMidnight(t time.Time) time.Duration {
	p := t.In(pacific)
	next := time.Date(p.Year(), p.Month(), p.Day()+1, 0, 0, 0, 0, pacific)
	return next.Sub(t)
}

// dayCount is one model's requests on one Pacific day.
type dayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

type stateFile struct {
	Version int                 `json:"version"`
	Models  map[string]dayCount `json:"models"`
}

// dayCounter counts requests per model per Pacific day and keeps the counts in a JSON file
// so that a restart does not forget them.
type dayCounter struct {
	mu     sync.Mutex
	path   string
	log    *slog.Logger
	models map[string]dayCount
	saveMu sync.Mutex
}

var errDaySpent = errors.New("daily quota spent")

func loadDays(path string, log *slog.Logger) *dayCounter {
	c := &dayCounter{path: path, log: log, models: map[string]dayCount{}}
	if path == "" {
		return c
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c
	}
	if err != nil {
		log.Warn("cannot read the rate-limit state file; daily request counts start from zero", "path", path, "err", err)
		return c
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 {
		if err == nil {
			err = fmt.Errorf("unknown version %d", f.Version)
		}
		log.Warn("the rate-limit state file is damaged; daily request counts start from zero and the file will be rewritten", "path", path, "err", err)
		return c
	}
	for k, v := range f.Models {
		c.models[k] = v
	}
	return c
}

// current returns the model's count for today. c.mu must be held.
func (c *dayCounter) current(model string, now time.Time) dayCount {
	day := pacificDay(now)
	dc := c.models[model]
	if dc.Day != day {
		dc = dayCount{Day: day}
	}
	return dc
}

func (c *dayCounter) used(model string, now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current(model, now).Count
}

// take counts one request, or fails when the day's limit (0: none) is reached.
func (c *dayCounter) take(model string, limit int, now time.Time) error {
	c.mu.Lock()
	dc := c.current(model, now)
	if limit > 0 && dc.Count >= limit {
		c.mu.Unlock()
		return errDaySpent
	}
	dc.Count++
	c.models[model] = dc
	c.mu.Unlock()
	if limit > 0 { // the count only needs to survive a restart when a daily limit is enforced
		c.save()
	}
	return nil
}

// give returns a request that was counted but never sent.
func (c *dayCounter) give(model string, now time.Time) {
	c.mu.Lock()
	dc := c.current(model, now)
	if dc.Count > 0 {
		dc.Count--
	}
	c.models[model] = dc
	c.mu.Unlock()
	c.save()
}

// save writes the counts atomically: a temporary file in the same directory, then a rename.
func (c *dayCounter) save() {
	if c.path == "" {
		return
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	f := stateFile{Version: 1, Models: make(map[string]dayCount, len(c.models))}
	for k, v := range c.models {
		f.Models[k] = v
	}
	c.mu.Unlock()
	if err := writeAtomic(c.path, f); err != nil {
		c.log.Warn("cannot save the rate-limit state file; daily counts will not survive a restart", "path", c.path, "err", err)
	}
}

func writeAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	return atomicfile.Write(path, data, 0o600)
}
