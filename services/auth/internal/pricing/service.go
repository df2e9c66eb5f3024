package pricing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	Audit Auditor
}

// Service implements the price table's rules over a Store.
type Service struct {
	store Store
	audit Auditor
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	return &Service{store: cfg.Store, audit: cfg.Audit}
}

// caller is who calls: a service, or a user or key of an organization,
// possibly bound to one project.
type caller struct {
	service bool
	org     uuid.UUID
	project uuid.UUID // the project the credentials name; Nil when none
}

func callerOf(ctx context.Context) (caller, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return caller{}, fmt.Errorf("%w: unauthenticated", ErrPermissionDenied)
	}
	if p.Kind == authn.KindService {
		return caller{service: true}, nil
	}
	org, err := uuid.Parse(p.OrganizationID)
	if err != nil {
		return caller{}, fmt.Errorf("%w: the caller belongs to no organization", ErrPermissionDenied)
	}
	project, _ := uuid.Parse(p.ProjectID) // Nil when the caller names none
	return caller{org: org, project: project}, nil
}

// scope resolves the project a call acts on and its organization. Services
// may name any project or none (the global prices); everyone else acts on a
// project of their organization, the one their credentials name when they
// name one: a role or key scope was granted for that project, not for the
// others.
func (s *Service) scope(ctx context.Context, c caller, requested uuid.UUID) (project, org uuid.UUID, err error) {
	switch {
	case c.service && requested == uuid.Nil:
		return uuid.Nil, uuid.Nil, nil
	case c.service:
		org, err = s.store.ProjectOrganization(ctx, requested)
		return requested, org, err
	case requested == uuid.Nil && c.project == uuid.Nil:
		return uuid.Nil, uuid.Nil, invalid("project_id", "required when the credentials name no project")
	case requested == uuid.Nil:
		requested = c.project
	case c.project != uuid.Nil && requested != c.project:
		return uuid.Nil, uuid.Nil, fmt.Errorf("%w: the credentials are for another project", ErrPermissionDenied)
	}
	org, err = s.store.ProjectOrganization(ctx, requested)
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	if org != c.org {
		return uuid.Nil, uuid.Nil, fmt.Errorf("project %s: %w", requested, tenancy.ErrNotFound)
	}
	return requested, org, nil
}

// owns reports whether c may change p; the error tells a global price
// (visible, read-only) from another tenant's (invisible).
func (c caller) owns(p Price) error {
	switch {
	case c.service:
		return nil
	case p.Global():
		return fmt.Errorf("%w: global prices are read-only; create a project override instead", ErrPermissionDenied)
	case p.OrganizationID != c.org, c.project != uuid.Nil && p.ProjectID != c.project:
		return fmt.Errorf("model price %s: %w", p.ID, tenancy.ErrNotFound)
	}
	return nil
}

// ListPrices returns the global prices and the overrides of a project (the
// caller's when projectID is Nil). With allProjects, services get every
// price of every project.
func (s *Service) ListPrices(ctx context.Context, projectID uuid.UUID, allProjects bool) ([]Price, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if allProjects {
		if !c.service {
			return nil, fmt.Errorf("%w: all_projects is for services", ErrPermissionDenied)
		}
		if projectID != uuid.Nil {
			return nil, invalid("project_id", "must be empty with all_projects")
		}
		return s.store.ListAllPrices(ctx)
	}
	project, _, err := s.scope(ctx, c, projectID)
	if err != nil {
		return nil, err
	}
	return s.store.ListPrices(ctx, project)
}

// NewPrice is what CreatePrice needs.
type NewPrice struct {
	// ProjectID is the project to override prices for: the caller's when
	// Nil; for service callers, Nil makes a global price.
	ProjectID    uuid.UUID
	ModelName    string
	MatchPattern string
	Prices       map[string]float64
	// EffectiveFrom defaults to the Unix epoch: the price applies to every
	// observation until a newer one of the same model takes over.
	EffectiveFrom time.Time
}

// CreatePrice stores a new price, audited.
func (s *Service) CreatePrice(ctx context.Context, in NewPrice) (Price, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Price{}, err
	}
	project, org, err := s.scope(ctx, c, in.ProjectID)
	if err != nil {
		return Price{}, err
	}
	if in.EffectiveFrom.IsZero() {
		in.EffectiveFrom = minEffectiveFrom
	}
	p := Price{
		ProjectID:      project,
		OrganizationID: org,
		ModelName:      in.ModelName,
		MatchPattern:   in.MatchPattern,
		Prices:         in.Prices,
		EffectiveFrom:  in.EffectiveFrom,
	}
	if p, err = check(p); err != nil {
		return Price{}, err
	}
	if p.ID, err = uuid.NewV7(); err != nil {
		return Price{}, fmt.Errorf("model price id: %w", err)
	}
	var out Price
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		if out, err = st.InsertPrice(ctx, p); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.ActionModelPriceCreate, out, nil)
	})
	if err != nil {
		return Price{}, err
	}
	return out, nil
}

// PricePatch changes a price; nil fields stay as they are.
type PricePatch struct {
	// ProjectID, when not Nil, must be the price's own: a price does not
	// move between projects.
	ProjectID     uuid.UUID
	ModelName     *string
	MatchPattern  *string
	Prices        map[string]float64 // replaces all prices when not nil
	EffectiveFrom *time.Time
}

// UpdatePrice changes a project override of the caller's (any price, for
// services), audited with the previous values.
func (s *Service) UpdatePrice(ctx context.Context, id uuid.UUID, patch PricePatch) (Price, error) {
	c, err := callerOf(ctx)
	if err != nil {
		return Price{}, err
	}
	var out Price
	err = s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		before, err := st.Price(ctx, id, true)
		if err != nil {
			return err
		}
		if err := c.owns(before); err != nil {
			return err
		}
		if patch.ProjectID != uuid.Nil && patch.ProjectID != before.ProjectID {
			return invalid("project_id", "a price cannot move to another project; create a new one")
		}
		p := before
		if patch.ModelName != nil {
			p.ModelName = *patch.ModelName
		}
		if patch.MatchPattern != nil {
			p.MatchPattern = *patch.MatchPattern
		}
		if patch.Prices != nil {
			p.Prices = patch.Prices
		}
		if patch.EffectiveFrom != nil {
			p.EffectiveFrom = *patch.EffectiveFrom
		}
		if p, err = check(p); err != nil {
			return err
		}
		if out, err = st.UpdatePrice(ctx, p); err != nil {
			return err
		}
		out.OrganizationID = before.OrganizationID
		return s.record(ctx, tx, audit.ActionModelPriceUpdate, out, &before)
	})
	if err != nil {
		return Price{}, err
	}
	return out, nil
}

// DeletePrice removes a project override of the caller's (any price, for
// services), audited.
func (s *Service) DeletePrice(ctx context.Context, id uuid.UUID) error {
	c, err := callerOf(ctx)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(st Store, tx pgx.Tx) error {
		p, err := st.Price(ctx, id, true)
		if err != nil {
			return err
		}
		if err := c.owns(p); err != nil {
			return err
		}
		if err := st.DeletePrice(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.ActionModelPriceDelete, p, nil)
	})
}

// check cleans and validates a price's fields.
func check(p Price) (Price, error) {
	name, err := cleanModelName(p.ModelName)
	if err != nil {
		return Price{}, err
	}
	p.ModelName = name
	if err := checkPattern(p.MatchPattern); err != nil {
		return Price{}, err
	}
	if err := checkPrices(p.Prices); err != nil {
		return Price{}, err
	}
	p.EffectiveFrom = p.EffectiveFrom.UTC()
	if err := checkEffectiveFrom(p.EffectiveFrom); err != nil {
		return Price{}, err
	}
	return p, nil
}

// record writes the audit event of an action on p in its transaction,
// with the previous values when before is not nil. A global price belongs
// to no organization.
func (s *Service) record(ctx context.Context, tx pgx.Tx, action string, p Price, before *Price) error {
	details := map[string]string{
		"model_name":     p.ModelName,
		"match_pattern":  p.MatchPattern,
		"prices":         formatPrices(p.Prices),
		"effective_from": p.EffectiveFrom.UTC().Format(time.RFC3339),
	}
	if before != nil {
		details["previous_model_name"] = before.ModelName
		details["previous_match_pattern"] = before.MatchPattern
		details["previous_prices"] = formatPrices(before.Prices)
		details["previous_effective_from"] = before.EffectiveFrom.UTC().Format(time.RFC3339)
	}
	_, err := s.audit.Record(ctx, tx, audit.Entry{
		OrganizationID: p.OrganizationID,
		ProjectID:      p.ProjectID,
		Action:         action,
		TargetKind:     "model_price",
		TargetID:       p.ID.String(),
		Details:        details,
	})
	if errors.Is(err, audit.ErrUnavailable) {
		return fmt.Errorf("%w: %w", tenancy.ErrUnavailable, err)
	}
	return err
}

// formatPrices writes prices as "cached_input=1.25e-06,input=2.5e-06", by
// usage type.
func formatPrices(prices map[string]float64) string {
	parts := make([]string, 0, len(prices))
	for _, k := range slices.Sorted(maps.Keys(prices)) {
		parts = append(parts, k+"="+strconv.FormatFloat(prices[k], 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}
