package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/mopush/mopush/internal/httpx"
	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

// Bounds of a user's fields, in bytes.
const (
	maxEmail    = 254
	maxName     = 128
	minPassword = 10
	maxPassword = 72 // bcrypt reads no further
	maxUserApps = 100
)

type userRequest struct {
	Email    *string   `json:"email"`
	Name     *string   `json:"name"`
	Password *string   `json:"password"`
	Role     *string   `json:"role"`
	Apps     *[]string `json:"apps"`
	Disabled *bool     `json:"disabled"`
}

// validate checks the fields present; a new user (create) needs email,
// password and role.
func (req *userRequest) validate(create bool) error {
	if create && (req.Email == nil || req.Password == nil || req.Role == nil) {
		return errInvalidUser("email, password and role are required")
	}
	if req.Email != nil {
		e := strings.TrimSpace(*req.Email)
		at := strings.LastIndexByte(e, '@')
		if len(e) > maxEmail || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
			return errInvalidUser(fmt.Sprintf("email must be an address of at most %d bytes", maxEmail))
		}
		*req.Email = e
	}
	if req.Name != nil {
		*req.Name = strings.TrimSpace(*req.Name)
		if len(*req.Name) > maxName {
			return errInvalidUser(fmt.Sprintf("name is at most %d bytes", maxName))
		}
	}
	if req.Password != nil && (len(*req.Password) < minPassword || len(*req.Password) > maxPassword) {
		return errInvalidUser(fmt.Sprintf("password must be %d to %d bytes", minPassword, maxPassword))
	}
	if req.Role != nil && !slices.Contains([]string{store.RoleAdmin, store.RoleMarketer, store.RoleViewer}, *req.Role) {
		return errInvalidUser("role must be admin, marketer or viewer")
	}
	if req.Apps != nil {
		if len(*req.Apps) > maxUserApps {
			return errInvalidUser(fmt.Sprintf("at most %d apps", maxUserApps))
		}
		for _, a := range *req.Apps {
			if a == "" || len(a) > ids.MaxLen {
				return errInvalidUser(fmt.Sprintf("an app id is 1 to %d bytes", ids.MaxLen))
			}
		}
		slices.Sort(*req.Apps)
		*req.Apps = slices.Compact(*req.Apps)
	}
	return nil
}

// apply copies the request's fields into u, hashing a new password.
func (p *Portal) apply(req *userRequest, u *store.User) error {
	if req.Email != nil {
		u.Email = *req.Email
	}
	if req.Name != nil {
		u.Name = *req.Name
	}
	if req.Password != nil {
		h, err := bcrypt.GenerateFromPassword([]byte(*req.Password), p.cfg.BcryptCost)
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		u.PasswordHash = h
	}
	if req.Role != nil {
		u.Role = *req.Role
	}
	if req.Apps != nil {
		u.Apps = *req.Apps
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
	}
	u.UpdatedAt = p.now().UTC()
	return nil
}

func (p *Portal) createUser(w http.ResponseWriter, r *http.Request) error {
	if err := p.admin(r); err != nil {
		return err
	}
	var req userRequest
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	u := &store.User{ID: ids.New(), CreatedAt: p.now().UTC()}
	if err := p.apply(&req, u); err != nil {
		return err
	}
	err := p.users.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrConflict) {
		return errEmailTaken()
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	p.log.Info("user created", "user_id", u.ID, "role", u.Role)
	return httpx.WriteJSON(w, http.StatusCreated, viewUser(u))
}

// maxUpdateTries bounds the compare-and-set retries of one user update.
const maxUpdateTries = 5

func (p *Portal) updateUser(w http.ResponseWriter, r *http.Request) error {
	if err := p.admin(r); err != nil {
		return err
	}
	var req userRequest
	if err := httpx.DecodeJSON(r, maxBody, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	id := r.PathValue("id")
	for range maxUpdateTries {
		u, err := p.users.User(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("user")
		}
		if err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		wasAdmin := activeAdmin(u)
		if err := p.apply(&req, u); err != nil {
			return err
		}
		if wasAdmin && !activeAdmin(u) {
			if err := p.keepAnAdmin(r.Context(), u.ID); err != nil {
				return err
			}
		}
		err = p.users.UpdateUser(r.Context(), u)
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("user")
		}
		if errors.Is(err, store.ErrConflict) {
			if other, e := p.users.UserByEmail(r.Context(), u.Email); e == nil && other.ID != u.ID {
				return errEmailTaken()
			}
			continue // changed since it was read: read it again
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		return httpx.WriteJSON(w, http.StatusOK, viewUser(u))
	}
	return httpx.Errorf(http.StatusConflict, "conflict", "Conflict", "the user kept changing; try again")
}

func (p *Portal) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := p.admin(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if len(id) > ids.MaxLen {
		return errNotFound("user")
	}
	u, err := p.users.User(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read user: %w", err)
	}
	if activeAdmin(u) {
		if err := p.keepAnAdmin(r.Context(), u.ID); err != nil {
			return err
		}
	}
	if err := p.users.DeleteUser(r.Context(), id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userPage is a page of users and the cursor of the next one.
type userPage struct {
	Users []userView `json:"users"`
	Next  string     `json:"next,omitempty"`
}

func (p *Portal) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := p.admin(r); err != nil {
		return err
	}
	after, limit, err := httpx.PageQuery(r, 100, 1000, ids.MaxLen)
	if err != nil {
		return err
	}
	us, err := p.users.ListUsers(r.Context(), after, limit+1)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	us, next := httpx.Page(us, limit, func(u *store.User) string { return u.ID })
	page := userPage{Users: make([]userView, 0, len(us)), Next: next}
	for _, u := range us {
		page.Users = append(page.Users, viewUser(u))
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

// activeAdmin reports whether u is an admin who can sign in.
func activeAdmin(u *store.User) bool { return u.Role == store.RoleAdmin && !u.Disabled }

// keepAnAdmin refuses a change that would leave no admin who can sign in:
// it passes when an active admin other than the user with the id exists.
// Two admins demoting each other at the same instant can still both pass.
func (p *Portal) keepAnAdmin(ctx context.Context, except string) error {
	after := ""
	for {
		us, err := p.users.ListUsers(ctx, after, 1000)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range us {
			if u.ID != except && activeAdmin(u) {
				return nil
			}
		}
		if len(us) < 1000 {
			e := httpx.Errorf(http.StatusConflict, "last-admin", "Last admin",
				"this is the only admin who can sign in: make another admin first")
			return e
		}
		after = us[len(us)-1].ID
	}
}
