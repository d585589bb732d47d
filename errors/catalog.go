package errors

import "sort"

// Entry is one known failure: a category and, within it, a case with its own cause, fix and
// recovery window. The catalog is readable by people (RenderMarkdown, an MCP resource) and
// fills the Diagnosis fields a classifier leaves empty.
type Entry struct {
	Category  Category `json:"category"`
	Case      string   `json:"case"`
	Title     string   `json:"title"`
	Signals   string   `json:"signals"` // what the upstream shows, e.g. "429 RESOURCE_EXHAUSTED, quotaId …PerMinute…"
	Cause     string   `json:"cause"`
	Fix       []string `json:"fix"`
	Recovery  string   `json:"recovery"`
	Actor     Actor    `json:"actor"`
	Retryable bool     `json:"retryable"`
	Source    []string `json:"source"` // where the facts come from
}

// Sources cited by the catalog.
const (
	srcSeedPro    = "seed article: Nano Banana Pro API errors troubleshooting hub (429 ≈70% of failures, 1–5 min; 503 30–120 min Pro, 5–15 min Flash; 500 15–60 min)"
	srcSeedNB2    = "seed article: Nano Banana 2 (gemini-3.1-flash-image) error guide (RPM resets in 60 s, RPD at midnight Pacific; 502 5–15 min; no free tier for image output)"
	srcRateLimits = "https://ai.google.dev/gemini-api/docs/rate-limits"
	srcTrouble    = "https://ai.google.dev/gemini-api/docs/troubleshooting"
	srcAPIErrors  = "https://ai.google.dev/gemini-api/docs/api-errors"
	srcSignatures = "https://ai.google.dev/gemini-api/docs/thought-signatures"
	srcImageGen   = "https://ai.google.dev/gemini-api/docs/image-generation"
	srcRegions    = "https://ai.google.dev/gemini-api/docs/available-regions"
	srcVertex429  = "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429"
	srcVertexLoc  = "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations"
	srcFinish     = "https://ai.google.dev/api/generate-content#FinishReason"
	srcModels     = "https://ai.google.dev/gemini-api/docs/models"
)

// The cases used when nothing more specific is known.
const defaultCase = "default"

var catalog = []Entry{
	{RateLimited, "per_minute", "Per-minute quota used up",
		"429 RESOURCE_EXHAUSTED; QuotaFailure quotaId …PerMinute… (RPM, TPM or IPM); RetryInfo retryDelay; \"Please retry in N s\"",
		"The project sent more requests, tokens or images in the last minute than its tier allows for this model. Limits are per project, not per key, and every dimension is enforced at once.",
		[]string{"Wait for the retry delay Gemini gave (about 60 s at most), then retry.", "Lower the request rate: space calls at least 60/RPM seconds apart, or configure --rpm to your tier.", "For sustained volume, raise the tier (Tier 2 after $250 spend) or use the Batch API."},
		"about 60 s (rolling one-minute window)", ActorWait, true,
		[]string{srcSeedPro, srcSeedNB2, srcRateLimits}},
	{RateLimited, "vertex_shared", "Vertex AI shared capacity exhausted",
		"429 RESOURCE_EXHAUSTED \"Resource exhausted. Please try again later… error-code-429\", no QuotaFailure",
		"On Vertex AI, Gemini image models run on dynamic shared quota: the region's shared capacity was exhausted, not necessarily your own quota.",
		[]string{"Retry with exponential backoff (1 s, 2 s, 4 s … up to 60 s).", "Use location global, which pools more capacity.", "For steady traffic, buy Provisioned Throughput or use the Gemini API backend, where 429s are reported to be rarer."},
		"usually 1–5 min", ActorWait, true,
		[]string{srcVertex429, srcSeedPro, "google-gemini/gemini-cli#14811"}},
	{DailyQuota, "per_day", "Daily quota used up",
		"429 RESOURCE_EXHAUSTED; QuotaFailure quotaId …PerDay… (RPD)",
		"The project used all the requests per day its tier allows for this model.",
		[]string{"Wait until the quota resets at midnight Pacific time; retrying sooner will fail.", "Or raise the tier (Tier 2: 5,000 RPD, Tier 3: 10,000 RPD for Nano Banana 2), or switch to another model with quota left."},
		"at midnight Pacific time", ActorWait, false,
		[]string{srcSeedNB2, srcRateLimits}},
	{NoFreeTier, "limit_zero", "No free tier for this model",
		"429 RESOURCE_EXHAUSTED with \"limit: 0\" on a …free_tier… metric, quotaValue \"0\", or \"doesn't have a free quota tier\"",
		"The model has no free-tier quota: the limit is zero, so waiting never helps. Gemini image output needs a project with billing enabled (Tier 1 or above).",
		[]string{"Enable billing on the Google Cloud project that owns the API key (AI Studio → Billing).", "Or use a key from a project that already has billing."},
		"never, until billing is enabled", ActorBilling, false,
		[]string{srcSeedNB2, srcRateLimits, "gemini-cli-extensions/nanobanana#9", "googleapis/js-genai#1322"}},
	{NoFreeTier, "billing_disabled", "Billing disabled or prepaid credit used up",
		"403/400 ErrorInfo BILLING_DISABLED, FAILED_PRECONDITION about billing, 402 payment_required",
		"The project's billing account is disabled, missing or out of prepaid credit.",
		[]string{"Re-enable or link a billing account for the project, or add credit.", "Then retry; nothing else needs to change."},
		"when billing is restored", ActorBilling, false,
		[]string{srcAPIErrors, srcTrouble}},
	{Overloaded, "pro", "Pro model overloaded",
		"503 UNAVAILABLE \"The model is overloaded. Please try again later.\" on a Pro image model",
		"Google's backend lacks capacity for the Pro image model right now; it is not caused by your request or quota. Peak hours see up to 45% failures.",
		[]string{"Switch to a Flash image model (fallback) now.", "Or retry the Pro model later with long backoff (minutes, not seconds)."},
		"30–120 min", ActorGoogle, true,
		[]string{srcSeedPro}},
	{Overloaded, "flash", "Flash model overloaded",
		"503 UNAVAILABLE \"The model is overloaded\" on a Flash image model",
		"Google's backend lacks capacity for the model right now; it is not caused by your request or quota.",
		[]string{"Retry with backoff starting at 5 s and capped at 60 s.", "Or switch to another image model."},
		"5–15 min", ActorGoogle, true,
		[]string{srcSeedPro, srcSeedNB2}},
	{Overloaded, defaultCase, "Model overloaded",
		"503 UNAVAILABLE, \"overloaded\", \"The service is currently unavailable\"",
		"Google's backend lacks capacity right now; it is not caused by your request or quota.",
		[]string{"Retry later with backoff, or switch to another image model.", "Schedule bulk work off-peak."},
		"5–15 min on Flash models, 30–120 min on Pro models", ActorGoogle, true,
		[]string{srcSeedPro, srcSeedNB2, "google-gemini/gemini-cli#7227"}},
	{BadGateway, defaultCase, "Bad gateway",
		"502 Bad Gateway (often an HTML page from a proxy or load balancer)",
		"A proxy or load balancer between you and the model got no valid answer from upstream: a deployment, a transient fault, or your own proxy or base URL.",
		[]string{"Retry with backoff starting at 5 s.", "If you use GOOGLE_GEMINI_BASE_URL or a relay, check that it is up.", "If it lasts beyond 30 min, check the Google Cloud status dashboard."},
		"5–15 min", ActorGoogle, true,
		[]string{srcSeedNB2}},
	{ServerError, defaultCase, "Internal server error",
		"500 INTERNAL \"An internal error has occurred\"",
		"Something failed unexpectedly on Google's side. Very long inputs (many reference images) can also trigger it.",
		[]string{"Retry after a short wait.", "If it repeats, reduce the input (fewer or smaller reference images) or switch model.", "Check the Gemini status page and developer forum."},
		"15–60 min", ActorGoogle, true,
		[]string{srcSeedPro, srcTrouble}},
	{Timeout, defaultCase, "Timed out",
		"504 DEADLINE_EXCEEDED, context deadline exceeded, client timeouts (often 60 s in MCP clients)",
		"The answer did not arrive before a deadline: image generation takes 30–170 s (longer at 4K), and MCP clients often give up at 60 s.",
		[]string{"Retry; generation time varies a lot.", "Allow a longer timeout (300 s for 1K/2K, 600 s for 4K), or enable progress notifications in the client.", "Use a smaller image size or fewer reference images."},
		"immediately retryable", ActorWait, true,
		[]string{srcSeedPro, srcTrouble}},
	{Network, defaultCase, "Network failure",
		"connection refused or reset, DNS failure, EOF mid-body, TLS/x509 errors, fetch failed",
		"The request never got a complete answer from Gemini: the network, a proxy, a firewall or the base URL is at fault.",
		[]string{"Check internet access and any HTTPS proxy (HTTPS_PROXY).", "Check GOOGLE_GEMINI_BASE_URL if set.", "Retry; transient resets clear on their own."},
		"when the network path works again", ActorYou, true,
		[]string{"gemini-cli-extensions/nanobanana#33"}},
	{Network, "tls", "TLS or certificate failure",
		"x509: certificate signed by unknown authority, tls: handshake failure",
		"The TLS connection could not be verified, usually because a corporate proxy intercepts HTTPS or the system's CA certificates are missing.",
		[]string{"Install the proxy's CA certificate or the system CA bundle (ca-certificates).", "Check the system clock.", "Check GOOGLE_GEMINI_BASE_URL if set."},
		"when the certificate problem is fixed", ActorYou, false,
		[]string{"https://pkg.go.dev/crypto/x509"}},
	{Network, "dns", "Host name not resolved",
		"lookup …: no such host, ENOTFOUND, getaddrinfo",
		"The Gemini host name could not be resolved: offline, DNS broken, or a typo in the base URL.",
		[]string{"Check the network connection and DNS.", "Check GOOGLE_GEMINI_BASE_URL for typos."},
		"when DNS works again", ActorYou, true,
		[]string{"https://pkg.go.dev/net#DNSError"}},
	{InvalidRequest, defaultCase, "Invalid request",
		"400 INVALID_ARGUMENT or FAILED_PRECONDITION",
		"Gemini rejected the request's content or shape; sending it again unchanged fails the same way.",
		[]string{"Read the message for the field at fault and fix the request.", "Check the model id, prompt (not empty) and reference images (supported type, size)."},
		"never, until the request changes", ActorYou, false,
		[]string{srcSeedPro, srcTrouble}},
	{UnsupportedParameter, defaultCase, "Unsupported parameter",
		"400 naming image size (lowercase k), aspect ratio, candidate count, too many images, or a Vertex-only option",
		"A parameter has a value this model or backend does not support: sizes need an uppercase K (\"2K\"), each model has its own ratios and sizes, image models allow one candidate, and some options exist only on Vertex AI.",
		[]string{"Use an uppercase K in image sizes (1K, 2K, 4K; 512 only on Nano Banana 2).", "Use an aspect ratio the model lists.", "Ask for one candidate per request (for several images, pass n, up to 4: one request each).", "Drop options the backend does not support."},
		"never, until the parameter changes", ActorYou, false,
		[]string{srcImageGen, srcSeedPro, "google-gemini/gemini-cli#10370"}},
	{MissingThoughtSignature, defaultCase, "Missing thought signature",
		"400 \"Image part is missing a thought_signature in content position N, part position M\", finish reason MISSING_THOUGHT_SIGNATURE",
		"Gemini 3 image models sign their own turns; when history is replayed, each signed model part must come back byte-for-byte with its signature. A part without it, or altered, is refused.",
		[]string{"Replay the model's turns exactly as received, signatures included.", "Do not mix models in one conversation: signatures belong to the model that made them.", "Or start a new conversation, passing the last image as a fresh input."},
		"never, until the history is fixed", ActorYou, false,
		[]string{srcSignatures, "langchain-ai/langchain-google#1431", "langgenius/dify-official-plugins#2262"}},
	{ModelNotFound, defaultCase, "Model not found",
		"404 NOT_FOUND \"models/… is not found for API version v1beta\"",
		"The model id does not exist, was misspelled, or is not served on this API version.",
		[]string{"Check the id with the list_models tool (or models.list).", "Use a current image model: list_models names them, and the server's default model is one."},
		"never, until the model id changes", ActorYou, false,
		[]string{srcModels, "Junhan2/gemini-nanobanana-mcp#2"}},
	{ModelNotFound, "retired", "Model retired",
		"404 NOT_FOUND for a preview or experimental id that used to work",
		"Preview and experimental model ids are retired on a schedule; calls to them return 404.",
		[]string{"Switch to the replacement model named in the summary.", "Pin GA ids where possible."},
		"never, until the model id changes", ActorYou, false,
		[]string{srcModels, "ShmuelRonen/ComfyUI-NanoBanano#5"}},
	{Auth, "invalid_key", "API key invalid",
		"400 INVALID_ARGUMENT \"API key not valid. Please pass a valid API key.\", ErrorInfo API_KEY_INVALID",
		"The API key is wrong, truncated, deleted, or from another service.",
		[]string{"Create or copy a key from Google AI Studio (aistudio.google.com/apikey).", "Set it as GEMINI_API_KEY (GOOGLE_API_KEY wins when both are set) and restart the server."},
		"never, until the key changes", ActorYou, false,
		[]string{srcTrouble, srcAPIErrors}},
	{Auth, "expired_key", "API key expired",
		"400 \"API key expired. Please renew the API key.\", ErrorInfo API_KEY_EXPIRED",
		"The API key has expired or was rotated.",
		[]string{"Create a new key in Google AI Studio and update GEMINI_API_KEY."},
		"never, until the key changes", ActorYou, false,
		[]string{srcTrouble}},
	{Auth, "vertex_api_key", "API key used where Vertex AI needs OAuth",
		"401 UNAUTHENTICATED \"API keys are not supported by this API. Expected OAuth2 access token…\"",
		"The request went to a Vertex AI project endpoint with an API key; that endpoint needs OAuth credentials.",
		[]string{"Use Application Default Credentials (gcloud auth application-default login, or a service account).", "Or unset GOOGLE_GENAI_USE_VERTEXAI to use the Gemini API with the key.", "Or use a Vertex express-mode key without project and location."},
		"never, until the credentials change", ActorYou, false,
		[]string{"google-gemini/gemini-cli#1463", "google-gemini/gemini-cli#5739", "GoogleCloudPlatform/vertex-ai-creative-studio#243"}},
	{Auth, "service_disabled", "API not enabled",
		"403 PERMISSION_DENIED, ErrorInfo SERVICE_DISABLED \"… has not been used in project … or it is disabled\"",
		"The Generative Language API (or Vertex AI API) is not enabled in the key's project.",
		[]string{"Enable the API in the Google Cloud console for that project, wait a few minutes, retry."},
		"a few minutes after enabling", ActorYou, false,
		[]string{srcTrouble}},
	{Auth, defaultCase, "Permission denied",
		"401 UNAUTHENTICATED or 403 PERMISSION_DENIED",
		"The credentials were refused or lack permission for this model or project (key restrictions, IAM, Workspace policy, suspended project).",
		[]string{"Check the key's API restrictions and the project's IAM roles.", "A new key can take a few minutes to work."},
		"never, until the credentials change", ActorYou, false,
		[]string{srcSeedPro, srcSeedNB2, srcAPIErrors}},
	{LocationUnsupported, "user_location", "Location not supported",
		"400 FAILED_PRECONDITION \"User location is not supported for the API use.\"",
		"Gemini API is not offered in the country the request came from (as seen by Google, i.e. your server or proxy exit).",
		[]string{"Call from a supported region (or through a server or proxy exit in one).", "Or use Vertex AI in a supported region."},
		"never, from this location", ActorYou, false,
		[]string{srcRegions, "langgenius/dify#25946"}},
	{LocationUnsupported, "vertex_region", "Model not in this Vertex region",
		"404 NOT_FOUND \"Publisher Model `projects/…/locations/us-central1/…` was not found or your project does not have access to it\"",
		"On Vertex AI the model is not served in the configured region (the Gemini 3 image models are served only in global), or the project lacks access.",
		[]string{"Set GOOGLE_CLOUD_LOCATION=global.", "Check the project id and that the model is enabled for it."},
		"never, until the region changes", ActorYou, false,
		[]string{srcVertexLoc, "google-gemini/gemini-cli#14262"}},
	{SafetyBlocked, "output", "Image blocked by safety filters",
		"200 with finishReason IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT, SAFETY, PROHIBITED_CONTENT, BLOCKLIST or SPII",
		"The generated image (or text) was withheld by Google's safety or policy filters. Failed generations are not billed.",
		[]string{"Rephrase the prompt: remove what could read as sexual, violent, a real person or a minor.", "Add neutral style guidance (\"editorial photograph\", \"clean illustration\").", "Retrying the same prompt usually fails again."},
		"never, until the prompt changes", ActorYou, false,
		[]string{srcFinish, srcSeedNB2, "BerriAI/litellm#20357"}},
	{SafetyBlocked, "prompt", "Prompt blocked",
		"200 with promptFeedback.blockReason and no candidates",
		"The prompt (or a reference image) was refused before generation.",
		[]string{"Rephrase the prompt or replace the reference image.", "Retrying unchanged fails again."},
		"never, until the prompt changes", ActorYou, false,
		[]string{srcFinish}},
	{SafetyBlocked, "recitation", "Output too close to existing work",
		"200 with finishReason IMAGE_RECITATION or RECITATION",
		"The output resembled copyrighted or training material too closely and was withheld.",
		[]string{"Ask for an original composition rather than a known work, character or logo."},
		"never, until the prompt changes", ActorYou, false,
		[]string{srcFinish, "langchain4j/langchain4j#5256"}},
	{NoImage, defaultCase, "No image returned",
		"200 with finishReason NO_IMAGE, IMAGE_OTHER, OTHER, MALFORMED_RESPONSE, or only text",
		"The model answered without an image: it chose to reply in text, or generation failed for an unspecified reason.",
		[]string{"Retry; these are often one-off.", "Say explicitly that you want an image (\"Generate an image of …\").", "Read the model's own words in the detail."},
		"immediately retryable", ActorYou, true,
		[]string{srcFinish, "minimaxir/gemimg#5", "googleapis/python-genai#2049"}},
	{NoImage, "max_tokens", "Output token limit reached",
		"200 with finishReason MAX_TOKENS",
		"The answer hit the output token limit before an image was produced.",
		[]string{"Remove or raise maxOutputTokens.", "Shorten the requested text in the image."},
		"never, until the limit changes", ActorYou, false,
		[]string{srcFinish}},
	{Cancelled, defaultCase, "Cancelled",
		"context canceled, 499 CANCELLED",
		"The caller cancelled the request (the client disconnected or the user stopped it) before it finished.",
		[]string{"Nothing to fix; send the request again if you still need it."},
		"immediately", ActorYou, false,
		[]string{srcAPIErrors}},
	{Unknown, defaultCase, "Unrecognised failure",
		"anything not matched above",
		"The failure could not be identified from the text available.",
		[]string{"Read the detail for the upstream's own words.", "If it repeats, report it with the full error text (keys removed)."},
		"unknown", ActorYou, false,
		nil},
}

// Catalog returns every entry, sorted by category then case.
func Catalog() []Entry {
	out := make([]Entry, len(catalog))
	copy(out, catalog)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Case < out[j].Case
	})
	return out
}

// Lookup returns the entry for a category and case, falling back to the category's default
// case and then to its first entry.
func Lookup(cat Category, c string) (Entry, bool) {
	var first *Entry
	for i := range catalog {
		e := &catalog[i]
		if e.Category != cat {
			continue
		}
		if e.Case == c {
			return *e, true
		}
		if first == nil || e.Case == defaultCase {
			if first == nil || first.Case != defaultCase {
				first = e
			}
		}
	}
	if first != nil {
		return *first, true
	}
	return Entry{}, false
}

// complete fills the empty fields of d from the catalog.
func complete(d Diagnosis) Diagnosis {
	if d.Category == "" {
		d.Category = Unknown
	}
	if d.Case == LocalCase {
		if d.Summary == "" {
			d.Summary = "The request is not valid."
		}
		return d // a local problem has no upstream cause, fix or recovery
	}
	e, ok := Lookup(d.Category, d.Case)
	if !ok {
		e, _ = Lookup(Unknown, defaultCase)
	}
	if d.Case == "" {
		d.Case = e.Case
	}
	if d.Cause == "" {
		d.Cause = e.Cause
	}
	if len(d.Fix) == 0 {
		d.Fix = append([]string(nil), e.Fix...)
	}
	if d.Recovery == "" {
		d.Recovery = e.Recovery
	}
	if d.Actor == "" {
		d.Actor = e.Actor
	}
	if d.Summary == "" {
		d.Summary = e.Title + "."
	}
	return d
}
