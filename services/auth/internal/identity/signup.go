package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// SignupInput is a signup request.
type SignupInput struct {
	Email    string
	Password string
	Name     string
	// OrganizationName is for the first user only.
	OrganizationName string
	// InvitationToken is for every later user.
	InvitationToken string
}

// Signup creates a user and signs them in. Without an invitation token it is
// the installation's first signup, which creates OrganizationName owned by
// the new user, or ErrInvitationRequired when there are users already. With
// a token, the invitation (for this email, unexpired, unrevoked, unused)
// makes the user a member with its role. A taken email is ErrAlreadyExists.
func (s *Service) Signup(ctx context.Context, in SignupInput, c Client) (Session, error) {
	if err := s.limit(ctx, s.cfg.AddressLimiter, addressKey(c.Address), "signup address"); err != nil {
		return Session{}, err
	}
	email, err := cleanEmail(in.Email)
	if err != nil {
		return Session{}, err
	}
	if err := password.CheckPolicy(in.Password); err != nil {
		return Session{}, &tenancy.FieldError{Field: "password", Description: err.Error()}
	}
	name, err := cleanUserName(in.Name)
	if err != nil {
		return Session{}, err
	}
	id, err := newID()
	if err != nil {
		return Session{}, err
	}
	u := User{ID: id, Email: email, Name: name}

	var signup Signup
	if in.InvitationToken == "" {
		signup, err = s.signupFirst(ctx, u, in)
	} else {
		signup, err = s.signupInvited(ctx, u, in)
	}
	if err != nil {
		return Session{}, err
	}
	s.log.InfoContext(ctx, "user signed up", "user", signup.User, "organization_id", signup.Membership.OrganizationID,
		"role", RoleName(signup.Membership.Role), "invited", signup.Invitation != nil)
	tokens, err := s.startSession(ctx, signup.User, c)
	if err != nil {
		return Session{}, err
	}
	return Session{User: signup.User, Tokens: tokens, Organization: signup.Organization}, nil
}

func (s *Service) signupFirst(ctx context.Context, u User, in SignupInput) (Signup, error) {
	// Ask before validating the organization name: for every signup but
	// the first, "you need an invitation" is the useful answer.
	if n, err := s.cfg.Store.CountUsers(ctx); err != nil {
		return Signup{}, err
	} else if n > 0 {
		return Signup{}, ErrInvitationRequired
	}
	orgName, err := cleanName("organization_name", in.OrganizationName)
	if err != nil {
		return Signup{}, err
	}
	orgID, err := newID()
	if err != nil {
		return Signup{}, err
	}
	if u.PasswordHash, err = s.cfg.Hasher.Hash(ctx, in.Password); err != nil {
		return Signup{}, err
	}
	signup, err := s.cfg.Store.CreateFirstUser(ctx, u, tenancy.Organization{ID: orgID, Name: orgName}, s.auditSignup)
	if errors.Is(err, tenancy.ErrAlreadyExists) {
		// Only the organization name can collide: the store refuses a
		// first signup once any user (with any email) exists.
		return Signup{}, &tenancy.FieldError{Field: "organization_name", Description: "an organization with this name exists"}
	}
	return signup, err
}

func (s *Service) signupInvited(ctx context.Context, u User, in SignupInput) (Signup, error) {
	if !strings.HasPrefix(in.InvitationToken, InvitationTokenPrefix) {
		return Signup{}, ErrInvitationUnknown
	}
	var err error
	if u.PasswordHash, err = s.cfg.Hasher.Hash(ctx, in.Password); err != nil {
		return Signup{}, err
	}
	return s.cfg.Store.CreateInvitedUser(ctx, u, HashToken(in.InvitationToken), s.now(), s.auditSignup)
}

// auditSignup records, in the signup's transaction, the organization a first
// user created or the invitation an invited user accepted. The actor is the
// new user: the call itself carries no credentials.
func (s *Service) auditSignup(ctx context.Context, tx pgx.Tx, su Signup) error {
	if s.cfg.Audit == nil {
		return nil
	}
	actor := audit.Actor{Kind: audit.ActorUser, ID: su.User.ID.String(), Label: su.User.Email}
	e := audit.Entry{
		OrganizationID: su.Membership.OrganizationID,
		Actor:          actor,
		Action:         audit.ActionOrganizationCreate,
		TargetKind:     "organization",
		TargetID:       su.Membership.OrganizationID.String(),
	}
	if su.Invitation != nil {
		e.Action = audit.ActionInvitationAccept
		e.TargetKind = "invitation"
		e.TargetID = su.Invitation.ID.String()
		e.Details = map[string]string{"role": RoleName(su.Membership.Role)}
	}
	if _, err := s.cfg.Audit.Record(ctx, tx, e); err != nil {
		if errors.Is(err, audit.ErrUnavailable) {
			return fmt.Errorf("%w: %w", tenancy.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// cleanEmail checks an address is a bare addr-spec ("a@b.example", no
// display name) of reasonable length and returns it normalized.
func cleanEmail(email string) (string, error) {
	email = NormalizeEmail(email)
	bad := func(d string) error { return &tenancy.FieldError{Field: "email", Description: d} }
	switch {
	case email == "":
		return "", bad("required")
	case len(email) > maxEmailLen:
		return "", bad(fmt.Sprintf("at most %d characters", maxEmailLen))
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return "", bad("must be an email address such as name@example.com")
	}
	return email, nil
}

// maxNameLen bounds display names, as for projects.
const maxNameLen = 200

// cleanName trims a display name and checks it is printable and not too
// long; the same rule as tenancy's for projects.
func cleanName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	bad := func(d string) error { return &tenancy.FieldError{Field: field, Description: d} }
	switch {
	case name == "":
		return "", bad("required")
	case !utf8.ValidString(name):
		return "", bad("must be valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", bad(fmt.Sprintf("at most %d characters", maxNameLen))
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", bad("must not contain control characters")
	}
	return name, nil
}

// cleanUserName: a user's display name is optional, but if given it follows
// the rule for names.
func cleanUserName(name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", nil
	}
	return cleanName("name", name)
}
