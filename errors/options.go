package errors

import (
	"strings"
	"time"
)

// Option tailors a diagnosis: the model involved, where retired models went, the clock.
type Option func(*config)

type config struct {
	model   string
	replace func(model string) (string, bool)
	now     func() time.Time
}

func newConfig(opts []Option) config {
	c := config{now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// ForModel names the model the failing call used. It tailors recovery windows (a 503 on a
// Pro model lasts longer than on a Flash model) and fills the summary when the error text
// does not name the model itself.
func ForModel(id string) Option {
	return func(c *config) { c.model = strings.TrimSpace(id) }
}

// WithReplacements supplies the model registry's lookup of retired or unknown model ids, so
// that a 404 can name the model to use instead.
func WithReplacements(lookup func(model string) (replacement string, ok bool)) Option {
	return func(c *config) { c.replace = lookup }
}

// WithClock sets the clock used to compute the wait until a daily quota resets. Tests use it;
// the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// modelFamily reports "pro", "flash" or "" for a model id or alias.
func modelFamily(model string) string {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "pro"):
		return "pro"
	case strings.Contains(m, "flash"), strings.Contains(m, "nano-banana"), strings.Contains(m, "nano_banana"):
		return "flash"
	}
	return ""
}
