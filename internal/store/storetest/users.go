package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mopush/mopush/internal/ids"
	"github.com/mopush/mopush/internal/store"
)

func (s suite) users(t *testing.T) {
	t.Run("create_and_get", func(t *testing.T) {
		e := s.open(t, Config{})
		u := newUser(e, "Ada.Lovelace@Example.COM")
		u.Disabled, u.Version = true, 7
		require.NoError(t, e.CreateUser(e.ctx, u))
		require.Equal(t, "ada.lovelace@example.com", u.Email, "the email is stored in lower case")
		require.EqualValues(t, 1, u.Version, "a new user has version 1")
		requireUser(t, e, u)
		for _, email := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "Ada.Lovelace@example.com"} {
			got, err := e.UserByEmail(e.ctx, email)
			require.NoError(t, err, email)
			require.Equal(t, normUser(u), normUser(got), email)
		}
	})
	t.Run("not_found", func(t *testing.T) {
		e := s.open(t, Config{})
		_, err := e.User(e.ctx, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = e.UserByEmail(e.ctx, "nobody@example.com")
		require.ErrorIs(t, err, store.ErrNotFound)
		u := newUser(e, "ghost@example.com")
		u.Version = 1
		require.ErrorIs(t, e.UpdateUser(e.ctx, u), store.ErrNotFound)
		_, err = e.UserByEmail(e.ctx, u.Email)
		require.ErrorIs(t, err, store.ErrNotFound, "a failed update takes no email")
		require.NoError(t, e.DeleteUser(e.ctx, "nope"), "deleting a missing user")
	})
	t.Run("conflict", func(t *testing.T) {
		e := s.open(t, Config{})
		u := newUser(e, "ada@example.com")
		require.NoError(t, e.CreateUser(e.ctx, u))

		sameID := newUser(e, "grace@example.com")
		sameID.ID = u.ID
		require.ErrorIs(t, e.CreateUser(e.ctx, sameID), store.ErrConflict)
		_, err := e.UserByEmail(e.ctx, sameID.Email)
		require.ErrorIs(t, err, store.ErrNotFound, "a refused user takes no email")

		sameEmail := newUser(e, "ADA@example.com")
		require.ErrorIs(t, e.CreateUser(e.ctx, sameEmail), store.ErrConflict)
		_, err = e.User(e.ctx, sameEmail.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "a refused user is not stored")

		requireUser(t, e, u)
		got, err := e.UserByEmail(e.ctx, u.Email)
		require.NoError(t, err)
		require.Equal(t, u.ID, got.ID, "the first user keeps its email")
	})
	t.Run("list", s.listUsers)
	t.Run("compare_and_set", func(t *testing.T) {
		e := s.open(t, Config{})
		u := newUser(e, "ada@example.com")
		require.NoError(t, e.CreateUser(e.ctx, u))
		stale := *u

		next := *u
		next.Name, next.Role, next.Apps, next.Disabled = "Ada L.", store.RoleAdmin, nil, true
		next.PasswordHash = ids.Secret(32)
		next.CreatedAt, next.UpdatedAt = u.CreatedAt.Add(time.Hour), u.UpdatedAt.Add(time.Minute)
		require.NoError(t, e.UpdateUser(e.ctx, &next))
		require.EqualValues(t, 2, next.Version)
		require.Equal(t, msUTC(u.CreatedAt), msUTC(next.CreatedAt), "the creation time stays")
		requireUser(t, e, &next)

		stale.Name, stale.Email = "stale", "stale@example.com"
		require.ErrorIs(t, e.UpdateUser(e.ctx, &stale), store.ErrConflict)
		require.EqualValues(t, 1, stale.Version, "a refused update leaves the version")
		requireUser(t, e, &next)
		_, err := e.UserByEmail(e.ctx, "stale@example.com")
		require.ErrorIs(t, err, store.ErrNotFound, "a refused update takes no email")
		got, err := e.UserByEmail(e.ctx, u.Email)
		require.NoError(t, err)
		require.Equal(t, u.ID, got.ID)
	})
	t.Run("compare_and_set_concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		u := newUser(e, "ada@example.com")
		require.NoError(t, e.CreateUser(e.ctx, u))
		updates := make([]*store.User, 8)
		for i := range updates {
			v := *u
			v.Name = fmt.Sprintf("writer %d", i)
			updates[i] = &v
		}
		won, err := race(len(updates), func(i int) error { return e.UpdateUser(e.ctx, updates[i]) })
		require.NoError(t, err)
		require.Len(t, won, 1, "exactly one update from version 1 succeeds")
		got, err := e.User(e.ctx, u.ID)
		require.NoError(t, err)
		require.EqualValues(t, 2, got.Version)
		require.Equal(t, updates[won[0]].Name, got.Name)
	})
	t.Run("rename", s.renameUser)
	t.Run("delete", func(t *testing.T) {
		e := s.open(t, Config{})
		u := newUser(e, "ada@example.com")
		require.NoError(t, e.CreateUser(e.ctx, u))
		require.NoError(t, e.DeleteUser(e.ctx, u.ID))
		_, err := e.User(e.ctx, u.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = e.UserByEmail(e.ctx, u.Email)
		require.ErrorIs(t, err, store.ErrNotFound)
		list, err := e.ListUsers(e.ctx, "", 10)
		require.NoError(t, err)
		require.Empty(t, list)

		again := newUser(e, "Ada@Example.com")
		require.NoError(t, e.CreateUser(e.ctx, again), "the email is free")
		require.NoError(t, e.DeleteUser(e.ctx, u.ID), "deleting twice")
		got, err := e.UserByEmail(e.ctx, u.Email)
		require.NoError(t, err)
		require.Equal(t, again.ID, got.ID)
	})
	t.Run("email_concurrent", func(t *testing.T) {
		e := s.open(t, Config{})
		users := make([]*store.User, 8)
		for i := range users {
			email := "ada@example.com"
			if i%2 == 1 {
				email = strings.ToUpper(email)
			}
			users[i] = newUser(e, email)
		}
		won, err := race(len(users), func(i int) error { return e.CreateUser(e.ctx, users[i]) })
		require.NoError(t, err)
		require.Len(t, won, 1, "exactly one user gets the email")
		got, err := e.UserByEmail(e.ctx, "ada@example.com")
		require.NoError(t, err)
		require.Equal(t, users[won[0]].ID, got.ID)
		for i, u := range users {
			if i == won[0] {
				continue
			}
			_, err := e.User(e.ctx, u.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "a refused user is not stored")
		}
	})
}

// listUsers pages through users by id.
func (s suite) listUsers(t *testing.T) {
	e := s.open(t, Config{})
	start := e.clock.Now()
	var want []string
	for i := range 25 {
		u := newUser(e, fmt.Sprintf("user%d@example.com", i))
		u.ID = ids.At(start.Add(time.Duration(i) * time.Millisecond))
		require.NoError(t, e.CreateUser(e.ctx, u))
		want = append(want, u.ID)
	}
	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page, err := e.ListUsers(e.ctx, after, 10)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		for _, u := range page {
			got = append(got, u.ID)
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, []int{10, 10, 5}, sizes)
	require.Equal(t, want, got, "every user once, by id")
	page, err := e.ListUsers(e.ctx, "", 0)
	require.NoError(t, err)
	require.Empty(t, page, "limit 0")
}

// renameUser moves users between emails.
func (s suite) renameUser(t *testing.T) {
	e := s.open(t, Config{})
	a, b := newUser(e, "a@example.com"), newUser(e, "b@example.com")
	require.NoError(t, e.CreateUser(e.ctx, a))
	require.NoError(t, e.CreateUser(e.ctx, b))

	taken := *b
	taken.Email = "A@Example.com"
	require.ErrorIs(t, e.UpdateUser(e.ctx, &taken), store.ErrConflict, "another user's email")
	requireUser(t, e, b)
	requireEmail(t, e, "a@example.com", a.ID)
	requireEmail(t, e, "b@example.com", b.ID)

	renamed := *a
	renamed.Email = "C@Example.com"
	require.NoError(t, e.UpdateUser(e.ctx, &renamed))
	require.Equal(t, "c@example.com", renamed.Email)
	requireUser(t, e, &renamed)
	requireEmail(t, e, "c@example.com", a.ID)
	_, err := e.UserByEmail(e.ctx, "a@example.com")
	require.ErrorIs(t, err, store.ErrNotFound, "the old email is free")

	taken.Email = "a@example.com"
	require.NoError(t, e.UpdateUser(e.ctx, &taken), "b takes a's old email")
	requireEmail(t, e, "a@example.com", b.ID)
	_, err = e.UserByEmail(e.ctx, "b@example.com")
	require.ErrorIs(t, err, store.ErrNotFound)
	d := newUser(e, "b@example.com")
	require.NoError(t, e.CreateUser(e.ctx, d), "b's old email is free")
	requireEmail(t, e, "b@example.com", d.ID)
}

func newUser(e env, email string) *store.User {
	now := e.clock.Now()
	return &store.User{
		ID:           ids.At(now),
		Email:        email,
		Name:         "Ada",
		PasswordHash: ids.Secret(32),
		Role:         store.RoleMarketer,
		Apps:         []string{"app1", "app2"},
		CreatedAt:    now,
		UpdatedAt:    now.Add(time.Second),
	}
}

func normUser(u *store.User) *store.User {
	n := *u
	n.PasswordHash = nilIfEmpty(n.PasswordHash)
	n.Apps = nilIfEmpty(n.Apps)
	n.CreatedAt, n.UpdatedAt = msUTC(n.CreatedAt), msUTC(n.UpdatedAt)
	return &n
}

func requireUser(t *testing.T, e env, want *store.User) {
	t.Helper()
	got, err := e.User(e.ctx, want.ID)
	require.NoError(t, err)
	require.Equal(t, normUser(want), normUser(got))
}

func requireEmail(t *testing.T, e env, email, id string) {
	t.Helper()
	got, err := e.UserByEmail(e.ctx, email)
	require.NoError(t, err, email)
	require.Equal(t, id, got.ID, email)
}
