package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// ListConversationsInput is the list_conversations argument object.
type ListConversationsInput struct {
	All   bool `json:"all,omitempty" jsonschema_description:"All your conversations, not just this session's."`
	Limit int  `json:"limit,omitempty" jsonschema_description:"Default 20."`
}

// ConversationInfo is one conversation in list_conversations.
type ConversationInfo struct {
	ConversationID string `json:"conversation_id"`
	Model          string `json:"model"`
	Turns          int    `json:"turns"`
	LatestImageID  string `json:"latest_image_id,omitempty"`
	BranchOf       string `json:"branch_of,omitempty"`
	Updated        string `json:"updated" jsonschema_description:"RFC 3339"`
}

// ListConversationsOutput is the structuredContent of list_conversations.
type ListConversationsOutput struct {
	Conversations []ConversationInfo `json:"conversations"`
}

// conversationDeps is what list_conversations and delete_conversation use: the store.
type conversationDeps struct {
	*Failures
	Store session.Store // nil: conversations are not available
}

// ListConversations is the list_conversations tool.
func ListConversations(store session.Store, f *Failures) Tool {
	d := &conversationDeps{Failures: f, Store: store}
	tool := mcp.NewTool("list_conversations",
		mcp.WithDescription("Conversations kept on the server, newest first."),
		mcp.WithInputSchema[ListConversationsInput](),
		mcp.WithOutputSchema[ListConversationsOutput](),
		annotations("List conversations", true, false, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "list_conversations", d.listConversations)}
}

func (d *conversationDeps) listConversations(ctx context.Context, _ mcp.CallToolRequest, in ListConversationsInput) *mcp.CallToolResult {
	if d.Store == nil {
		return d.failure(ctx, "list_conversations", "", apierrors.Local(apierrors.InvalidRequest, "Conversations are not available: no conversation store is configured."))
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 20
	}
	// Only the caller's own conversations, ever; a stateless client has no session to narrow
	// the list to, so it sees all of its principal's.
	sess := clientSession(ctx)
	list, err := d.Store.List(ctx, session.Query{Owner: ownerOf(ctx), Session: sess, AllSessions: in.All || sess == "", Limit: limit})
	if err != nil {
		return d.failure(ctx, "list_conversations", "", err)
	}
	out := ListConversationsOutput{Conversations: []ConversationInfo{}}
	var b strings.Builder
	for _, c := range list {
		out.Conversations = append(out.Conversations, ConversationInfo{ConversationID: c.ID, Model: c.Model, Turns: c.Turns,
			LatestImageID: c.LatestImage, BranchOf: c.BranchOf, Updated: c.Updated.UTC().Format(time.RFC3339)})
		fmt.Fprintf(&b, "%s: %s, %d turn%s, latest image %s, updated %s\n", c.ID, c.Model, c.Turns, plural(c.Turns),
			c.LatestImage, c.Updated.UTC().Format(time.RFC3339))
	}
	if len(list) == 0 {
		b.WriteString("No conversations yet; generate_image starts one.")
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(strings.TrimSpace(b.String()))}, StructuredContent: out}
}

// DeleteConversationInput is the delete_conversation argument object.
type DeleteConversationInput struct {
	ConversationID string `json:"conversation_id"`
}

// DeleteConversationOutput is the structuredContent of delete_conversation.
type DeleteConversationOutput struct {
	Deleted string `json:"deleted"`
}

// DeleteConversation is the delete_conversation tool.
func DeleteConversation(store session.Store, f *Failures) Tool {
	d := &conversationDeps{Failures: f, Store: store}
	tool := mcp.NewTool("delete_conversation",
		mcp.WithDescription("Delete a conversation's history; its image files stay."),
		mcp.WithInputSchema[DeleteConversationInput](),
		mcp.WithOutputSchema[DeleteConversationOutput](),
		annotations("Delete conversation", false, true, true, false),
	)
	return Tool{Tool: tool, Handler: typed(f, "delete_conversation", d.deleteConversation)}
}

func (d *conversationDeps) deleteConversation(ctx context.Context, _ mcp.CallToolRequest, in DeleteConversationInput) *mcp.CallToolResult {
	if d.Store == nil {
		return d.failure(ctx, "delete_conversation", "", apierrors.Local(apierrors.InvalidRequest, "Conversations are not available: no conversation store is configured."))
	}
	if _, err := ownConversation(ctx, d.Store, in.ConversationID); err != nil {
		return d.failure(ctx, "delete_conversation", "", convError(in.ConversationID, err))
	}
	if err := d.Store.Delete(ctx, in.ConversationID); err != nil {
		return d.failure(ctx, "delete_conversation", "", convError(in.ConversationID, err))
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent("Deleted conversation " + in.ConversationID + "; its image files are kept.")},
		StructuredContent: DeleteConversationOutput{Deleted: in.ConversationID}}
}
