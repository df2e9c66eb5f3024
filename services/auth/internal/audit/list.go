package audit

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Page sizes of ListAuditEvents.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Cursor is the position after the last event of a page: events strictly
// older (by CreatedAt, then ID) come next.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Filter selects events of one organization.
type Filter struct {
	OrganizationID uuid.UUID
	ProjectID      uuid.UUID // uuid.Nil: every project
	Action         string    // "": every action
	From, To       time.Time // zero: unbounded; From inclusive, To exclusive
	After          *Cursor
	Limit          int
}

// Query is a ListAuditEvents request as the domain sees it.
type Query struct {
	OrganizationID uuid.UUID // uuid.Nil: the caller's
	ProjectID      uuid.UUID
	Action         string
	From, To       time.Time
	PageSize       int
	PageToken      string
}

// Page is one page of events and the token of the next ("" at the end).
type Page struct {
	Events        []Event
	NextPageToken string
}

// Lister serves ListAuditEvents.
type Lister struct {
	store Store
}

// NewLister builds a Lister over store.
func NewLister(store Store) *Lister { return &Lister{store: store} }

// List returns a page of the caller's organization's events, newest first.
// Only owners and admins (users) and keys with the ADMIN scope may list; an
// organization other than the caller's is ErrPermissionDenied, whether it
// exists or not.
func (l *Lister) List(ctx context.Context, q Query) (Page, error) {
	p, ok := authn.FromContext(ctx)
	if !ok || !mayList(p) {
		return Page{}, fmt.Errorf("%w: listing audit events needs an owner or admin, or an admin key", ErrPermissionDenied)
	}
	own, err := uuid.Parse(p.OrganizationID)
	if err != nil {
		return Page{}, fmt.Errorf("%w: the caller belongs to no organization", ErrPermissionDenied)
	}
	if q.OrganizationID != uuid.Nil && q.OrganizationID != own {
		return Page{}, fmt.Errorf("%w: audit events of another organization", ErrPermissionDenied)
	}
	if len(q.Action) > maxNameLen {
		return Page{}, invalid("action", fmt.Sprintf("at most %d characters", maxNameLen))
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return Page{}, invalid("to_time", "must be after from_time")
	}
	size := q.PageSize
	switch {
	case size < 0:
		return Page{}, invalid("page_size", "must not be negative")
	case size == 0:
		size = DefaultPageSize
	case size > MaxPageSize:
		size = MaxPageSize
	}
	f := Filter{OrganizationID: own, ProjectID: q.ProjectID, Action: q.Action, From: q.From, To: q.To, Limit: size + 1}
	if q.PageToken != "" {
		c, err := DecodePageToken(q.PageToken)
		if err != nil {
			return Page{}, err
		}
		f.After = &c
	}
	events, err := l.store.ListAuditEvents(ctx, f)
	if err != nil {
		return Page{}, err
	}
	// One more than a page was asked for, so that a full last page does not
	// hand out a token leading to an empty one.
	var page Page
	if len(events) > size {
		events = events[:size]
		last := events[size-1]
		page.NextPageToken = EncodePageToken(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	page.Events = events
	return page, nil
}

func mayList(p authn.Principal) bool {
	switch p.Kind {
	case authn.KindUser:
		return p.Role == authv1.Role_ROLE_OWNER || p.Role == authv1.Role_ROLE_ADMIN
	case authn.KindAPIKey:
		for _, s := range p.Scopes {
			if s == authv1.APIKeyScope_API_KEY_SCOPE_ADMIN {
				return true
			}
		}
	}
	return false
}

// pageTokenLen: a version byte, the cursor time in Unix microseconds
// (PostgreSQL's precision) and the id.
const (
	pageTokenVersion = 1
	pageTokenLen     = 1 + 8 + 16
)

// EncodePageToken makes the opaque page token of a cursor.
func EncodePageToken(c Cursor) string {
	b := make([]byte, 0, pageTokenLen)
	b = append(b, pageTokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(c.CreatedAt.UnixMicro()))
	b = append(b, c.ID[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageToken reads a token made by EncodePageToken; anything else is a
// FieldError on page_token.
func DecodePageToken(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != pageTokenLen || b[0] != pageTokenVersion {
		return Cursor{}, invalid("page_token", "malformed; pass a next_page_token unchanged")
	}
	micros := int64(binary.BigEndian.Uint64(b[1:9]))
	id, _ := uuid.FromBytes(b[9:]) // 16 bytes, cannot fail
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}
