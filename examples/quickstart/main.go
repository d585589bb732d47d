// Quickstart starts nanobanana-mcp over stdio, drives it with an MCP client through
// generate_image and one edit_image turn of the same conversation, and prints where the images
// are. Without GEMINI_API_KEY it uses the built-in
// simulator, so it runs anywhere:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -prompt "a watercolour fox" -ratio 16:9 -size 2K
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	serverBin := fs.String("server", "", "a built nanobanana-mcp binary (default: build it from this module)")
	prompt := fs.String("prompt", "a ripe banana wearing sunglasses on a beach towel, photo", "what to draw")
	edit := fs.String("edit", "now at sunset, with a tiny umbrella", "the edit for the second turn")
	model := fs.String("model", "", "model alias or id (default nano-banana-2.1)")
	ratio := fs.String("ratio", "", "aspect ratio, e.g. 16:9")
	size := fs.String("size", "", "image size: 512, 1K, 2K or 4K")
	outDir := fs.String("output-dir", "", "where to save the image (default: the server's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bin := *serverBin
	if bin == "" {
		var err error
		if bin, err = buildServer(ctx); err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(bin))
	}
	var serverArgs []string
	upstream := "Gemini (GEMINI_API_KEY is set)"
	if getenv("GEMINI_API_KEY") == "" && getenv("GOOGLE_API_KEY") == "" {
		serverArgs = append(serverArgs, "--simulate")
		upstream = "the built-in simulator (set GEMINI_API_KEY to use Gemini)"
	}
	if *outDir != "" {
		serverArgs = append(serverArgs, "--output-dir", *outDir)
	}
	fmt.Fprintf(stdout, "Starting nanobanana-mcp over stdio against %s.\n", upstream)
	c, err := client.NewStdioMCPClient(bin, os.Environ(), serverArgs...)
	if err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "quickstart", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initializing: %w", err)
	}
	var req mcp.CallToolRequest
	req.Params.Name = "generate_image"
	req.Params.Arguments = map[string]any{"prompt": *prompt, "model": *model, "aspect_ratio": *ratio,
		"image_size": *size, "output": "path"}
	fmt.Fprintf(stdout, "Calling generate_image: %q\n", *prompt)
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("calling generate_image: %w", err)
	}
	if res.IsError {
		return errors.New(textOf(res))
	}
	var out struct {
		Path   string `json:"path"`
		Model  string `json:"model"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
		ID     string `json:"image_id"`
		Conv   string `json:"conversation_id"`
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("reading the result: %w", err)
	}
	fmt.Fprintln(stdout, textOf(res))
	fmt.Fprintf(stdout, "\nYour image: %s\n(%d×%d from %s; image_id %s, conversation_id %s)\n",
		out.Path, out.Width, out.Height, out.Model, out.ID, out.Conv)

	// A second turn of the same conversation: only the conversation_id travels; the server
	// replays the history, thought signatures included.
	req.Params.Name = "edit_image"
	req.Params.Arguments = map[string]any{"prompt": *edit, "conversation_id": out.Conv, "output": "path"}
	fmt.Fprintf(stdout, "\nCalling edit_image on %s: %q\n", out.Conv, *edit)
	res, err = c.CallTool(ctx, req)
	if err != nil {
		return fmt.Errorf("calling edit_image: %w", err)
	}
	if res.IsError {
		return errors.New(textOf(res))
	}
	raw, _ = json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("reading the result: %w", err)
	}
	fmt.Fprintf(stdout, "Edited image: %s\n", out.Path)
	return nil
}

// buildServer compiles the server from the module this example lives in.
func buildServer(ctx context.Context) (string, error) {
	dir, err := os.MkdirTemp("", "nanobanana-quickstart-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nanobanana-mcp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nanobanana-mcp/nanobanana-mcp")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building the server (run this from the repository): %w", err)
	}
	return bin, nil
}

func textOf(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := mcp.AsTextContent(c); ok {
			return t.Text
		}
	}
	return ""
}
