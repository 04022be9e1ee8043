package testsrv

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// mongoClient connects to m and disconnects when the test ends.
func mongoClient(t *testing.T, m *Mongo) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(m.URI).
		SetServerSelectionTimeout(2 * time.Second).
		SetRetryReads(false))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Disconnect(ctx))
	})
	return c
}

func TestStartMongoAnswers(t *testing.T) {
	t.Parallel()
	m := StartMongo(t)
	host, _, err := net.SplitHostPort(m.Addr)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	require.Equal(t, "mongodb://"+m.Addr+"/", m.URI)
	require.True(t, m.Running())

	c := mongoClient(t, m)
	coll := c.Database("testsrv").Collection("things")
	_, err = coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}})
	require.NoError(t, err)
	var got struct {
		N int `bson:"n"`
	}
	require.NoError(t, coll.FindOne(t.Context(), bson.D{{Key: "_id", Value: "a"}}).Decode(&got))
	require.Equal(t, 1, got.N)
}

func TestMongoKillAndRestartKeepsData(t *testing.T) {
	t.Parallel()
	m := StartMongo(t)
	addr := m.Addr
	c := mongoClient(t, m)
	coll := c.Database("testsrv").Collection("things")
	_, err := coll.InsertOne(t.Context(), bson.D{{Key: "_id", Value: "kept"}})
	require.NoError(t, err)

	m.Kill()
	require.False(t, m.Running())
	m.Kill() // a second kill is harmless
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	require.Error(t, c.Ping(ctx, nil), "a killed server does not answer")

	require.NoError(t, m.Restart())
	require.Equal(t, addr, m.Addr, "same address")
	WaitFor(t, 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return c.Ping(ctx, nil) == nil
	})
	n, err := coll.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: "kept"}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the state directory survived the kill")

	require.NoError(t, m.Restart(), "restart of a running server")
}

func TestMongoCloseRemovesDir(t *testing.T) {
	t.Parallel()
	m, err := LaunchMongo()
	if err != nil {
		if InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	require.NoError(t, m.Close(), "SIGTERM stops it cleanly")
	require.NoError(t, m.Close())
	_, err = os.Stat(m.dir)
	require.True(t, os.IsNotExist(err))
	require.Error(t, m.Restart())
	require.False(t, m.Running())
}

func TestFerretDBBinaryIsCached(t *testing.T) {
	t.Parallel()
	first, err := FerretDBBinary()
	if err != nil {
		if InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	second, err := FerretDBBinary()
	require.NoError(t, err)
	require.Equal(t, first, second)
	require.True(t, isExecutable(second))
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "mopush-test"), filepath.Dir(first))
}

func TestRepoRootAndModulePath(t *testing.T) {
	t.Parallel()
	root, err := repoRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.Equal(t, mongoModule, modulePath(b))

	require.Equal(t, "example.com/x", modulePath([]byte("// c\nmodule \"example.com/x\"\n\ngo 1.26\n")))
	require.Equal(t, "", modulePath([]byte("go 1.26\n")))
	require.NotEqual(t, mongoModule, modulePath([]byte("module github.com/mopush/mopush/tools/ferretdb\n")))
}

func TestToolHashFollowsSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644))
	}
	a, err := toolHash(dir)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("changed"), 0o644))
	b, err := toolHash(dir)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.NoError(t, os.Remove(filepath.Join(dir, "go.sum")))
	_, err = toolHash(dir)
	require.Error(t, err)
}

func TestLockFileRelocks(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFile(path)
	require.NoError(t, err)
	got := make(chan struct{})
	go func() {
		unlock2, err := lockFile(path)
		if err == nil {
			unlock2()
		}
		close(got)
	}()
	unlock()
	<-got
}
