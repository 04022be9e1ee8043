package storetest

import "github.com/mopush/mopush/internal/store"

// Compose is store.Compose, kept here for the suite's harnesses.
type Compose = store.Compose
