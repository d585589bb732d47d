#!/bin/sh
# Claude Code: add nanobanana-mcp as a stdio server for your user.
# The claude-code preset returns a 768 px preview (Claude Code passes it to its model as an image
# block, about 20 KB) plus the saved path and ids in structuredContent, which is what the model reads.
# Progress notifications keep long Pro and 4K calls alive; MCP_TIMEOUT raises the start-up timeout and MCP_TOOL_TIMEOUT the per-call one.
claude mcp add nanobanana --scope user \
  -e GEMINI_API_KEY=your-key \
  -e NANOBANANA_CLIENT=claude-code \
  -- nanobanana-mcp --client claude-code --output-dir "$HOME/Pictures/nanobanana"

# Without a key, try it against the built-in simulator:
#   claude mcp add nanobanana-sim -- nanobanana-mcp --simulate --client claude-code
# For Pro at 4K, allow long calls (milliseconds):
#   MCP_TOOL_TIMEOUT=600000 claude
