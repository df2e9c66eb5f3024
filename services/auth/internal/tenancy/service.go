package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

const (
	maxNameLen = 200
	maxNoteLen = 1000
)

// UsageRecorder learns that a key was just used. It must not block: it is
// called on the validation path.
type UsageRecorder interface {
	Record(keyID uuid.UUID)
}

// Announcer tells every service that a key no longer works, so that cached
// validations are dropped at once rather than at expiry.
type Announcer interface {
	AnnounceRevocation(ctx context.Context, publicKey string) error
}

// Auditor records an administrative action within the action's transaction
// (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, tx pgx.Tx, e audit.Entry) (audit.Event, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store     Store
	Usage     UsageRecorder
	Announcer Announcer
	Audit     Auditor
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements the tenancy rules over a Store.
type Service struct {
	store     Store
	usage     UsageRecorder
	announcer Announcer
	audit     Auditor
	now       func() time.Time
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: cfg.Store, usage: cfg.Usage, announcer: cfg.Announcer, audit: cfg.Audit, now: now}
}

// CreateProject creates a project in the caller's organization.
func (s *Service) CreateProject(ctx context.Context, c Caller, name string) (Project, error) {
	name, err := cleanName("name", name)
	if err != nil {
		return Project{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Project{}, fmt.Errorf("project id: %w", err)
	}
	var p Project
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		var err error
		if p, err = st.CreateProject(ctx, Project{ID: id, OrganizationID: c.OrganizationID, Name: name}); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{
			OrganizationID: p.OrganizationID,
			ProjectID:      p.ID,
			Action:         audit.ActionProjectCreate,
			TargetKind:     "project",
			TargetID:       p.ID.String(),
			Details:        map[string]string{"name": p.Name},
		})
	})
	if err != nil {
		return Project{}, err
	}
	return p, nil
}

// ListProjects lists the projects of the caller's organization.
func (s *Service) ListProjects(ctx context.Context, c Caller) ([]Project, error) {
	return s.store.ListProjects(ctx, c.OrganizationID)
}

// CreateAPIKey creates a key with scopes (DefaultScopes when none) for
// projectID (the caller's project when Nil), which must belong to the
// caller's organization.
func (s *Service) CreateAPIKey(ctx context.Context, c Caller, projectID uuid.UUID, note string, scopes []authv1.APIKeyScope) (CreatedKey, error) {
	note, err := cleanNote(note)
	if err != nil {
		return CreatedKey{}, err
	}
	if scopes, err = cleanScopes(scopes); err != nil {
		return CreatedKey{}, err
	}
	if projectID == uuid.Nil {
		projectID = c.ProjectID
	}
	p, err := s.store.GetProject(ctx, c.OrganizationID, projectID)
	if err != nil {
		return CreatedKey{}, err
	}
	return s.newKey(ctx, p, note, scopes)
}

// ListAPIKeys lists the keys of projectID (the caller's project when Nil).
func (s *Service) ListAPIKeys(ctx context.Context, c Caller, projectID uuid.UUID) ([]APIKey, error) {
	if projectID == uuid.Nil {
		projectID = c.ProjectID
	}
	// Asking for the project first tells "no such project here" (NotFound)
	// from "a project without keys" (empty list).
	if _, err := s.store.GetProject(ctx, c.OrganizationID, projectID); err != nil {
		return nil, err
	}
	return s.store.ListAPIKeys(ctx, c.OrganizationID, projectID)
}

// RevokeAPIKey revokes a key of the caller's organization and announces it.
// Revoking a revoked key succeeds and announces it again, so a caller whose
// first attempt failed to announce can simply retry.
func (s *Service) RevokeAPIKey(ctx context.Context, c Caller, keyID uuid.UUID) (APIKey, error) {
	if keyID == uuid.Nil {
		return APIKey{}, invalid("key_id", "required")
	}
	var k APIKey
	err := s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		var err error
		if k, err = st.RevokeAPIKey(ctx, c.OrganizationID, keyID, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{
			OrganizationID: k.OrganizationID,
			ProjectID:      k.ProjectID,
			Action:         audit.ActionAPIKeyRevoke,
			TargetKind:     "api_key",
			TargetID:       k.ID.String(),
			Details:        map[string]string{"public_key": k.PublicKey},
		})
	})
	if err != nil {
		return APIKey{}, err
	}
	if err := s.announcer.AnnounceRevocation(ctx, k.PublicKey); err != nil {
		// The key is revoked in the database; only other replicas' caches
		// may still honour it until they expire. Failing the call makes the
		// caller retry, which announces again.
		return APIKey{}, fmt.Errorf("%w: key revoked but the revocation could not be announced (retry): %w", ErrUnavailable, err)
	}
	return k, nil
}

// Bootstrap creates, or finds by name, an organization and a project in it,
// and gives the project a new key with every scope. It is how an
// installation gets its first credentials.
func (s *Service) Bootstrap(ctx context.Context, orgName, projectName, note string) (Organization, Project, CreatedKey, error) {
	orgName, err := cleanName("org", orgName)
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	projectName, err = cleanName("project", projectName)
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	if note, err = cleanNote(note); err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	orgID, err := uuid.NewV7()
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, fmt.Errorf("organization id: %w", err)
	}
	org, err := s.store.EnsureOrganization(ctx, Organization{ID: orgID, Name: orgName})
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	projectID, err := uuid.NewV7()
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, fmt.Errorf("project id: %w", err)
	}
	p, err := s.store.EnsureProject(ctx, Project{ID: projectID, OrganizationID: org.ID, Name: projectName})
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	k, err := s.newKey(ctx, p, note, AllScopes)
	if err != nil {
		return Organization{}, Project{}, CreatedKey{}, err
	}
	return org, p, k, nil
}

func (s *Service) newKey(ctx context.Context, p Project, note string, scopes []authv1.APIKeyScope) (CreatedKey, error) {
	m, err := apikey.Generate()
	if err != nil {
		return CreatedKey{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return CreatedKey{}, fmt.Errorf("key id: %w", err)
	}
	var k APIKey
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		var err error
		k, err = st.CreateAPIKey(ctx, APIKey{
			ID:             id,
			ProjectID:      p.ID,
			OrganizationID: p.OrganizationID,
			PublicKey:      m.PublicKey,
			SecretHint:     m.Hint,
			Note:           note,
			Scopes:         scopes,
		}, m.Hash)
		if err != nil {
			return err
		}
		// The public key and the note identify the key; the secret (and
		// its hint) stay out of the record.
		return s.record(ctx, tx, audit.Entry{
			OrganizationID: k.OrganizationID,
			ProjectID:      k.ProjectID,
			Action:         audit.ActionAPIKeyCreate,
			TargetKind:     "api_key",
			TargetID:       k.ID.String(),
			Details:        map[string]string{"public_key": k.PublicKey, "note": k.Note, "scopes": scopeList(k.Scopes)},
		})
	})
	if err != nil {
		return CreatedKey{}, err
	}
	return CreatedKey{Key: k, Secret: m.Secret}, nil
}

// record writes the audit event of an action in its transaction. A store
// outage while recording is reported like any other outage.
func (s *Service) record(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	_, err := s.audit.Record(ctx, tx, e)
	if errors.Is(err, audit.ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// cleanName trims a display name and checks it is printable and not too long.
func cleanName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid(field, "required")
	case !utf8.ValidString(name):
		return "", invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", invalid(field, fmt.Sprintf("at most %d characters", maxNameLen))
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", invalid(field, "must not contain control characters")
	}
	return name, nil
}

func cleanNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	switch {
	case !utf8.ValidString(note):
		return "", invalid("note", "must be valid UTF-8")
	case utf8.RuneCountInString(note) > maxNoteLen:
		return "", invalid("note", fmt.Sprintf("at most %d characters", maxNoteLen))
	case strings.ContainsRune(note, 0):
		// PostgreSQL text cannot hold NUL.
		return "", invalid("note", "must not contain NUL characters")
	}
	return note, nil
}
