package geminitest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// The JSON shapes below follow the REST surface the genai SDK talks to
// (camelCase, as the SDK sends). Incoming parts also accept the snake_case
// spellings the REST docs use (inline_data, mime_type, thought_signature).

type wireRequest struct {
	Contents         []wireContent  `json:"contents"`
	GenerationConfig *wireGenConfig `json:"generationConfig"`
	GenerationSnake  *wireGenConfig `json:"generation_config"`
	Tools            []wireTool     `json:"tools"`
}

type wireGenConfig struct {
	CandidateCount     int           `json:"candidateCount"`
	Seed               *int64        `json:"seed"`
	ResponseModalities []string      `json:"responseModalities"`
	ImageConfig        *wireImageCfg `json:"imageConfig"`
	ThinkingConfig     *wireThinkCfg `json:"thinkingConfig"`
	ImageSnake         *wireImageCfg `json:"image_config"`
	ThinkingSnake      *wireThinkCfg `json:"thinking_config"`
}

type wireImageCfg struct {
	AspectRatio string `json:"aspectRatio"`
	ImageSize   string `json:"imageSize"`
	RatioSnake  string `json:"aspect_ratio"`
	SizeSnake   string `json:"image_size"`
}

type wireThinkCfg struct {
	IncludeThoughts bool   `json:"includeThoughts"`
	IncludeSnake    bool   `json:"include_thoughts"`
	ThinkingLevel   string `json:"thinkingLevel"`
}

type wireContent struct {
	Role  string     `json:"role,omitempty"`
	Parts []wirePart `json:"parts"`
}

// wirePart is one part of a content, in or out. Data stays base64 text: the
// simulator only decodes images it has to inspect.
type wirePart struct {
	Text             *string   `json:"text,omitempty"`
	InlineData       *wireBlob `json:"inlineData,omitempty"`
	FileData         *wireFile `json:"fileData,omitempty"`
	Thought          bool      `json:"thought,omitempty"`
	ThoughtSignature string    `json:"thoughtSignature,omitempty"`
}

type wireBlob struct {
	MIMEType string `json:"mimeType"`
	Data     string `json:"data"`
}

type wireFile struct {
	MIMEType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// UnmarshalJSON accepts both camelCase and snake_case field names.
func (p *wirePart) UnmarshalJSON(b []byte) error {
	var raw struct {
		Text       *string   `json:"text"`
		Inline     *wireBlob `json:"inlineData"`
		InlineS    *wireBlob `json:"inline_data"`
		File       *wireFile `json:"fileData"`
		FileS      *wireFile `json:"file_data"`
		Thought    bool      `json:"thought"`
		Signature  string    `json:"thoughtSignature"`
		SignatureS string    `json:"thought_signature"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = wirePart{Text: raw.Text, InlineData: firstNonNil(raw.Inline, raw.InlineS),
		FileData: firstNonNil(raw.File, raw.FileS), Thought: raw.Thought,
		ThoughtSignature: raw.Signature}
	if p.ThoughtSignature == "" {
		p.ThoughtSignature = raw.SignatureS
	}
	return nil
}

// UnmarshalJSON accepts mimeType and mime_type.
func (b *wireBlob) UnmarshalJSON(data []byte) error {
	var raw struct {
		MIME  string `json:"mimeType"`
		MIMES string `json:"mime_type"`
		Data  string `json:"data"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	b.MIMEType, b.Data = raw.MIME, raw.Data
	if b.MIMEType == "" {
		b.MIMEType = raw.MIMES
	}
	return nil
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// config returns the generation config whichever spelling carried it.
func (r *wireRequest) config() wireGenConfig {
	g := firstNonNil(r.GenerationConfig, r.GenerationSnake)
	if g == nil {
		return wireGenConfig{}
	}
	out := *g
	out.ImageConfig = firstNonNil(g.ImageConfig, g.ImageSnake)
	out.ThinkingConfig = firstNonNil(g.ThinkingConfig, g.ThinkingSnake)
	return out
}

func (c wireGenConfig) ratio() string {
	if c.ImageConfig == nil {
		return ""
	}
	if c.ImageConfig.AspectRatio != "" {
		return c.ImageConfig.AspectRatio
	}
	return c.ImageConfig.RatioSnake
}

func (c wireGenConfig) size() string {
	if c.ImageConfig == nil {
		return ""
	}
	if c.ImageConfig.ImageSize != "" {
		return c.ImageConfig.ImageSize
	}
	return c.ImageConfig.SizeSnake
}

func (c wireGenConfig) includeThoughts() bool {
	return c.ThinkingConfig != nil && (c.ThinkingConfig.IncludeThoughts || c.ThinkingConfig.IncludeSnake)
}

// Response shapes.

type wireResponse struct {
	Candidates     []wireCandidate     `json:"candidates,omitempty"`
	PromptFeedback *wirePromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *wireUsage          `json:"usageMetadata,omitempty"`
	ModelVersion   string              `json:"modelVersion,omitempty"`
	ResponseID     string              `json:"responseId,omitempty"`
	ModelStatus    *wireModelStatus    `json:"modelStatus,omitempty"`
}

// wireModelStatus is GenerateContentResponse.modelStatus: an early warning of retirement.
type wireModelStatus struct {
	Message        string `json:"message,omitempty"`
	ModelStage     string `json:"modelStage,omitempty"`
	RetirementTime string `json:"retirementTime,omitempty"`
}

type wireCandidate struct {
	Content       *wireContent `json:"content,omitempty"`
	FinishReason  string       `json:"finishReason,omitempty"`
	FinishMessage string       `json:"finishMessage,omitempty"`
	Index         int          `json:"index"`
	// GroundingMetadata is set when the request had Google Search on.
	GroundingMetadata *wireGrounding `json:"groundingMetadata,omitempty"`
}

type wirePromptFeedback struct {
	BlockReason string `json:"blockReason"`
}

type wireUsage struct {
	PromptTokenCount        int             `json:"promptTokenCount"`
	CandidatesTokenCount    int             `json:"candidatesTokenCount,omitempty"`
	ThoughtsTokenCount      int             `json:"thoughtsTokenCount,omitempty"`
	TotalTokenCount         int             `json:"totalTokenCount"`
	PromptTokensDetails     []modalityCount `json:"promptTokensDetails,omitempty"`
	CandidatesTokensDetails []modalityCount `json:"candidatesTokensDetails,omitempty"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

// Error bodies: google.rpc.Status wrapped in {"error": …}.

type rpcStatus struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

const (
	typeQuotaFailure = "type.googleapis.com/google.rpc.QuotaFailure"
	typeHelp         = "type.googleapis.com/google.rpc.Help"
	typeRetryInfo    = "type.googleapis.com/google.rpc.RetryInfo"
	typeErrorInfo    = "type.googleapis.com/google.rpc.ErrorInfo"
	typeLocalized    = "type.googleapis.com/google.rpc.LocalizedMessage"
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"message":"simulator: encoding response failed","status":"INTERNAL"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeStatus(w http.ResponseWriter, st rpcStatus) {
	writeJSON(w, st.Code, map[string]any{"error": st})
}

func invalidArgument(msg string) rpcStatus {
	return rpcStatus{Code: 400, Message: msg, Status: "INVALID_ARGUMENT"}
}

// apiKeyInvalid is the body the Gemini API answers for a key it does not know.
func apiKeyInvalid() rpcStatus {
	const msg = "API key not valid. Please pass a valid API key."
	return rpcStatus{Code: 400, Message: msg, Status: "INVALID_ARGUMENT", Details: []map[string]any{
		{"@type": typeErrorInfo, "reason": "API_KEY_INVALID", "domain": "googleapis.com",
			"metadata": map[string]any{"service": "generativelanguage.googleapis.com"}},
		{"@type": typeLocalized, "locale": "en-US", "message": msg},
	}}
}

// unregisteredCaller is the body for a request that carries no key at all.
func unregisteredCaller() rpcStatus {
	return rpcStatus{Code: 403, Status: "PERMISSION_DENIED",
		Message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."}
}

func modelNotFound(model, method string) rpcStatus {
	return rpcStatus{Code: 404, Status: "NOT_FOUND",
		Message: "models/" + model + " is not found for API version v1beta, or is not supported for " + method + ". Call ListModels to see the list of available models and their supported methods."}
}

func vertexModelNotFound(path string) rpcStatus {
	return rpcStatus{Code: 404, Status: "NOT_FOUND",
		Message: "Publisher Model `" + path + "` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"}
}

// MaxRequestBytes is the Gemini API's inline request limit since 2026-01-12: 100 MB of request
// body with images base64-encoded. The earlier 20 MB limit answered with the same message
// naming 20971520 bytes.
const MaxRequestBytes = 100 << 20

// payloadTooLarge is the 400 for a request body over MaxRequestBytes.
func payloadTooLarge() rpcStatus {
	return rpcStatus{Code: 400, Status: "INVALID_ARGUMENT",
		Message: "Request payload size exceeds the limit: " + strconv.Itoa(MaxRequestBytes) + " bytes."}
}
