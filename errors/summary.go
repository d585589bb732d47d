package errors

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// build turns facts into a complete Diagnosis.
func build(f *facts, cfg config) Diagnosis {
	f.normalize()
	v := decide(f, cfg)
	d := Diagnosis{
		Category:   v.cat,
		Case:       v.kase,
		HTTPStatus: f.code,
		Status:     f.status,
		Model:      Sanitize(firstNonEmpty(cfg.model, f.model)),
		Detail:     clean(f.message, 400),
	}
	if d.Status == "" && f.icode != "" {
		d.Status = f.icode
	}
	if e, ok := Lookup(d.Category, d.Case); ok {
		d.Case = e.Case
		d.Retryable = e.Retryable
	}
	if v.dim != "" || v.quotaID != "" {
		d.Quota = &Quota{Dimension: v.dim, Limit: v.limit, ID: v.quotaID, Metric: v.metric, Model: firstNonEmpty(f.model, cfg.model)}
	}
	switch d.Category {
	case RateLimited:
		d.RetryAfterSeconds = f.retryAfter
		if d.RetryAfterSeconds == 0 {
			d.RetryAfterSeconds = 60
		}
	case DailyQuota:
		d.RetryAfterSeconds = untilMidnightPacific(cfg.now())
	case Overloaded, BadGateway, ServerError, Timeout:
		d.RetryAfterSeconds = f.retryAfter
	}
	d.RetryAfterSeconds = math.Ceil(d.RetryAfterSeconds)
	d.Summary = summarize(d, v, f)
	return complete(d)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// untilMidnightPacific is how long until Gemini's daily quotas reset.
func untilMidnightPacific(now time.Time) float64 {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		loc = time.FixedZone("PST", -8*3600)
	}
	t := now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	return next.Sub(t).Seconds()
}

// wait renders seconds for a sentence: "41 s", "3 min", "5 h 20 min".
func wait(sec float64) string { return FormatWait(time.Duration(sec * float64(time.Second))) }

// FormatWait renders a wait for a sentence: "41 s", "3 min", "5 h 20 min"; it rounds up, so a
// client that waits as long as it says is never early.
func FormatWait(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	switch {
	case s < 120:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min", (s+59)/60)
	}
	h, m := s/3600, (s%3600+59)/60
	if m == 60 {
		h, m = h+1, 0
	}
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

func unitFor(dim string) string {
	switch dim {
	case "TPM":
		return "tokens/min"
	case "IPM":
		return "images/min"
	case "RPD":
		return "requests/day"
	}
	return "requests/min"
}

func quotaNoun(dim string) string {
	switch dim {
	case "TPM":
		return "per-minute token quota"
	case "IPM":
		return "per-minute image quota"
	}
	return "per-minute quota"
}

// summarize writes the one sentence: what happened and what to do, with the wait.
func summarize(d Diagnosis, v verdict, f *facts) string {
	model := d.Model
	forModel := ""
	if model != "" {
		forModel = " for " + model
	}
	limit := ""
	if v.limit > 0 {
		limit = fmt.Sprintf(" (%d %s)", v.limit, unitFor(v.dim))
	}
	switch d.Category {
	case RateLimited:
		if d.Case == "vertex_shared" {
			return fmt.Sprintf("Vertex AI's shared capacity%s is exhausted (429); retry with backoff in about a minute, or use location global or Provisioned Throughput.", forModel)
		}
		return fmt.Sprintf("Gemini's %s%s%s is used up; retry in %s, or lower the request rate.", quotaNoun(v.dim), forModel, limit, wait(d.RetryAfterSeconds))
	case DailyQuota:
		return fmt.Sprintf("Gemini's daily quota%s%s is used up; it resets at midnight Pacific time (in about %s), so wait or raise the project's tier.", forModel, limit, wait(d.RetryAfterSeconds))
	case NoFreeTier:
		if d.Case == "billing_disabled" {
			return "Billing is disabled or out of credit for this Google Cloud project; enable billing or add credit, then retry."
		}
		m := "This model"
		if model != "" {
			m = model
		}
		return fmt.Sprintf("%s has no free-tier quota (limit 0), so waiting will not help; enable billing on the key's Google Cloud project, or use a key from a billed project.", m)
	case Overloaded:
		m := "The model"
		if model != "" {
			m = model
		}
		switch d.Case {
		case "pro":
			return fmt.Sprintf("%s is overloaded on Google's side (503), which usually lasts 30–120 min; switch to a Flash image model now or retry later.", m)
		case "flash":
			return fmt.Sprintf("%s is overloaded on Google's side (503), which usually clears in 5–15 min; retry with backoff or switch model.", m)
		}
		return fmt.Sprintf("%s is overloaded on Google's side (503); retry with backoff (Flash models usually recover in 5–15 min, Pro in 30–120 min) or switch model.", m)
	case BadGateway:
		return "A gateway between this server and Gemini answered 502 Bad Gateway; this usually clears in 5–15 min, so retry with backoff (and check any proxy or base URL)."
	case ServerError:
		return fmt.Sprintf("Gemini hit an internal error (%d)%s; retry shortly, and if it persists (often 15–60 min) reduce the input or switch model.", orDefault(d.HTTPStatus, 500), forModel)
	case Timeout:
		if d.HTTPStatus == 504 {
			return "Gemini did not finish before its deadline (504); retry, or use a smaller image size or fewer reference images."
		}
		return "The request timed out before Gemini answered; retry with a longer timeout (image generation takes 30–170 s) or a smaller image size."
	case Network:
		return "Could not reach Gemini over the network; check the connection, proxy and base URL, then retry."
	case InvalidRequest:
		return "Gemini rejected the request as invalid" + statusSuffix(d) + detailClause(d.Detail) + "; fix the request, since retrying it unchanged will fail."
	case UnsupportedParameter:
		return "Gemini rejected a parameter" + statusSuffix(d) + detailClause(d.Detail) + "; change it (uppercase K in sizes, a supported aspect ratio, one candidate) and try again."
	case MissingThoughtSignature:
		return "Gemini refused the edit because a previous model turn was replayed without its thought signature; replay the history exactly, or start a new conversation from the last image."
	case ModelNotFound:
		m := "The requested model"
		if model != "" {
			m = "Model " + model
		}
		if v.replacement != "" {
			return fmt.Sprintf("%s was not found (retired or unknown); use %s instead.", m, v.replacement)
		}
		return m + " was not found on this API; check the id with list_models, or leave the model out to use the server's default."
	case Auth:
		switch d.Case {
		case "invalid_key":
			return "Gemini rejected the API key as invalid; set a valid GEMINI_API_KEY from Google AI Studio and restart."
		case "expired_key":
			return "The Gemini API key has expired; create a new key in Google AI Studio and update GEMINI_API_KEY."
		case "vertex_api_key":
			return "Vertex AI refused the API key (it expects OAuth credentials); use Application Default Credentials, or unset GOOGLE_GENAI_USE_VERTEXAI to use the Gemini API with the key."
		case "service_disabled":
			return "The Gemini API is not enabled for the key's Google Cloud project; enable it in the console, wait a few minutes and retry."
		}
		return "Google refused the credentials" + statusSuffix(d) + detailClause(d.Detail) + "; check the API key or credentials and their permissions."
	case LocationUnsupported:
		if d.Case == "vertex_region" {
			loc := f.location
			if loc == "" {
				loc = "the configured region"
			}
			return fmt.Sprintf("Vertex AI does not serve %s in %s (or the project lacks access); set GOOGLE_CLOUD_LOCATION=global.", orText(model, "this model"), loc)
		}
		return "Gemini is not available from the location this request came from; call it from a supported region (or through a server or proxy exit in one)."
	case Cancelled:
		return "The request was cancelled before it finished; nothing needs fixing, send it again if you still need it."
	}
	return "The failure could not be identified" + detailClause(d.Detail) + "; read the detail and retry once, then report it if it repeats."
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func statusSuffix(d Diagnosis) string {
	if d.HTTPStatus != 0 {
		return fmt.Sprintf(" (%d)", d.HTTPStatus)
	}
	return ""
}

// detailClause quotes the upstream's words briefly: ": “Multiple candidates is not enabled”".
func detailClause(detail string) string {
	detail = strings.TrimSpace(detail)
	if detail == "" {
		return ""
	}
	detail = strings.TrimRight(shorten(detail, 140), ".")
	return ": “" + detail + "”"
}
